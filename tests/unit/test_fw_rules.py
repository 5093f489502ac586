"""The rule generators and item ids: an item's id must change whenever its rules would.

A no-op run trusts ``nsbridge <scope> <id> i/n`` comments instead of regenerating rules, so a
change to masquerade_rules/publish_rules/isolation_rules must come with a new RULES_VERSION.
The fingerprint below is of the rules generated for a fixed set of items; if it changes, bump
RULES_VERSION in fw_rules.py and record the new pair here.
"""

import dataclasses
import hashlib

from ansible_collections.nsbridge.network.plugins.module_utils.firewall import rules as fw_rules
from ansible_collections.nsbridge.network.plugins.module_utils.common.family import IPV4, IPV6
from ansible_collections.nsbridge.network.plugins.module_utils.firewall.rules import Scope, render
from ansible_collections.nsbridge.network.plugins.module_utils.planners.port_publish import PublishKey

FINGERPRINTS = {3: "8134f5af4ecea38a", 4: "cfe3ce0cdfad25ff"}  # RULES_VERSION -> fingerprint of sample_rules()


def sample_rules():
    rules = []
    rules += fw_rules.masquerade_rules("masq:a", "10.1.0.0/24", "br0", None, True)
    rules += fw_rules.masquerade_rules("masq:b", "10.2.0.0/24", None, "eth0", True, ["10.9.0.0/16"], ["10.8.0.0/16"])
    rules += fw_rules.masquerade_rules("masq:c", "10.3.0.0/24", "br1", None, False)
    rules += fw_rules.publish_rules("publish:a", "tcp", 8080, "10.1.0.2", 80, None, "br0", True, True)
    rules += fw_rules.publish_rules("publish:b", "udp", 53, "10.1.0.3", 5353, "192.0.2.1", None, False, False)
    rules += fw_rules.isolation_rules("isolate:a", "br0", ["br1", "br2"], False, 0x6E62)
    rules += fw_rules.isolation_rules("isolate:b", "br3", [], True, 0x6E62)
    rules += fw_rules.masquerade_rules("masq:d", "fd00:1::/64", "br0", None, True, ["fd00:9::/48"], ["fd00:8::/48"])
    rules += fw_rules.masquerade_rules("masq:e", "2001:db8:1::/64", "br4", None, True, nat=False)
    rules += fw_rules.publish_rules("publish:c", "tcp", 8080, "fd00:1::2", 80, None, "br0", True, False)
    rules += fw_rules.publish_rules("publish:d", "udp", 53, "fd00:1::3", 5353, "2001:db8::1", None, False, False)
    return rules


def fingerprint():
    lines = [render(r) + " first=%s" % r.first for r in sample_rules()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def test_rule_generators_match_the_recorded_fingerprint_of_this_rules_version():
    recorded = FINGERPRINTS.get(fw_rules.RULES_VERSION)
    assert recorded == fingerprint(), (
        "the generated rules changed (fingerprint %s): bump RULES_VERSION in fw_rules.py and record the new "
        "fingerprint for it in FINGERPRINTS" % fingerprint())


def test_item_id_depends_on_every_input_and_the_version(monkeypatch):
    base = ("publish", "tcp", (8080, 8080), "10.1.0.2", 80, None, "br0", True, False)
    ids = {fw_rules.item_id(base)}
    for i in range(1, len(base)):
        changed = list(base)
        changed[i] = "x"
        ids.add(fw_rules.item_id(tuple(changed)))
    assert len(ids) == len(base)
    monkeypatch.setattr(fw_rules, "RULES_VERSION", fw_rules.RULES_VERSION + 1)
    assert fw_rules.item_id(base) not in ids


def test_stamped_comments_and_completeness():
    tag = fw_rules.item_tag("publish:tcp:*:8080", ("x",))
    rules = fw_rules.stamp(fw_rules.publish_rules("publish:tcp:*:8080", "tcp", 8080, "10.1.0.2", 80, None, None,
                                                  True, False), tag)
    comments = [r.comment for r in rules]
    assert comments == ["%s%d/4" % (tag, i) for i in range(1, 5)]
    assert all(fw_rules.parse_comment(c)[0] == "publish:tcp:*:8080" for c in comments)
    assert fw_rules.parse_comment("nsbridge jump") is None
    assert fw_rules.is_complete(comments, tag)
    assert not fw_rules.is_complete(comments[:-1], tag), "a missing rule"
    assert not fw_rules.is_complete(comments + comments[:1], tag), "a duplicate"
    assert not fw_rules.is_complete(comments[:-1] + comments[:1], tag), "a duplicate in place of a missing one"
    other = fw_rules.item_tag("publish:tcp:*:8080", ("y",))
    assert not fw_rules.is_complete(comments[:-1] + [other + "4/4"], tag), "a rule of an older spec"
    # made for a project: the project is part of the id and ends every comment
    mine = fw_rules.item_tag("publish:tcp:*:8080", ("x",), "shop")
    assert mine != tag
    owned = [r.comment for r in fw_rules.stamp(rules, mine, "shop")]
    assert owned[0] == mine + "1/%d shop" % len(owned) and fw_rules.parse_comment(owned[0])[3] == "shop"
    assert fw_rules.is_complete(owned, mine, "shop") and not fw_rules.is_complete(owned, mine)
    assert fw_rules.parse_comment(comments[0])[3] is None
    assert dataclasses.replace(rules[0], comment=None) == fw_rules.publish_rules(
        "publish:tcp:*:8080", "tcp", 8080, "10.1.0.2", 80, None, None, True, False)[0]


def test_rules_carry_the_family_of_their_addresses():
    v6 = fw_rules.publish_rules("publish:tcp:[::]:8080", "tcp", 8080, "fd00::2", 80, None, "br0", True, False)
    assert {r.family for r in v6} == {IPV6}
    assert "ip6 -A output ! -d ::1/128 -p tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80" in map(render, v6)
    assert "ip6 -A forward -d fd00::2/128 -o br0 -p tcp --dport 80 -j ACCEPT" in map(render, v6)
    nat = fw_rules.masquerade_rules("masq:fd00::/64", "fd00::/64", "br0", None, True)
    assert {r.family for r in nat} == {IPV6}
    routed = fw_rules.masquerade_rules("masq:fd00::/64", "fd00::/64", "br0", None, True, nat=False)
    assert [r.chain for r in routed] == ["forward"] * 3, "routed: forward accepts only"
    iso = fw_rules.isolation_rules("isolate:br0", "br0", ["br1"], False, 0x6E62)
    assert {r.family for r in iso} == {IPV4, IPV6}
    assert "-A forward -i br0 ! -o br0 -m devgroup --dst-group 0x6e62 -j DROP" in map(render, iso), \
        "one rule keeps every other nsbridge bridge out, whoever made it"


def test_scope_and_publish_key_texts_survive_ipv6_colons():
    for text in ("tcp:*:8080", "udp:192.0.2.1:53", "tcp:[::]:8080", "tcp:[2001:db8::1]:8080-8090"):
        key = PublishKey.parse(text)
        assert str(key) == text
        scope = Scope("publish", text)
        assert Scope.parse(str(scope)) == scope
    assert PublishKey.parse("tcp:[2001:db8::1]:8080-8090") == PublishKey("tcp", IPV6, "2001:db8::1", 8080, 8090)
    any4, any6 = PublishKey.parse("tcp:*:8080"), PublishKey.parse("tcp:[::]:8080")
    assert not any4.overlaps(any6), "the same port in the two families is two publishings"
    assert any6.overlaps(PublishKey.parse("tcp:[fd00::1]:8000-9000"))
    assert not any6.overlaps(PublishKey.parse("udp:[::]:8080"))
