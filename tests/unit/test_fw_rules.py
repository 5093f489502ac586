"""The rule generators and item ids: an item's id must change whenever its rules would.

A no-op run trusts ``nsbridge <scope> <id> i/n`` comments instead of regenerating rules, so a
change to masquerade_rules/publish_rules/isolation_rules must come with a new RULES_VERSION.
The fingerprint below is of the rules generated for a fixed set of items; if it changes, bump
RULES_VERSION in fw_rules.py and record the new pair here.
"""

import dataclasses
import hashlib

from ansible_collections.nsbridge.network.plugins.module_utils import fw_rules
from ansible_collections.nsbridge.network.plugins.module_utils.fw_plan import render

FINGERPRINTS = {2: "3c85b287c0745e2f"}  # RULES_VERSION -> fingerprint of sample_rules()


def sample_rules():
    rules = []
    rules += fw_rules.masquerade_rules("masq:a", "10.1.0.0/24", "br0", None, True)
    rules += fw_rules.masquerade_rules("masq:b", "10.2.0.0/24", None, "eth0", True, ["10.9.0.0/16"], ["10.8.0.0/16"])
    rules += fw_rules.masquerade_rules("masq:c", "10.3.0.0/24", "br1", None, False)
    rules += fw_rules.publish_rules("publish:a", "tcp", 8080, "10.1.0.2", 80, None, "br0", True, True)
    rules += fw_rules.publish_rules("publish:b", "udp", 53, "10.1.0.3", 5353, "192.0.2.1", None, False, False)
    rules += fw_rules.isolation_rules("isolate:a", "br0", ["br1", "br2"], False)
    rules += fw_rules.isolation_rules("isolate:b", "br3", [], True)
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
    assert all(fw_rules.scope_of(c) == "publish:tcp:*:8080" for c in comments)
    assert fw_rules.scope_of("nsbridge jump") is None
    assert fw_rules.is_complete(comments, tag)
    assert not fw_rules.is_complete(comments[:-1], tag), "a missing rule"
    assert not fw_rules.is_complete(comments + comments[:1], tag), "a duplicate"
    assert not fw_rules.is_complete(comments[:-1] + comments[:1], tag), "a duplicate in place of a missing one"
    other = fw_rules.item_tag("publish:tcp:*:8080", ("y",))
    assert not fw_rules.is_complete(comments[:-1] + [other + "4/4"], tag), "a rule of an older spec"
    assert dataclasses.replace(rules[0], comment=None) == fw_rules.publish_rules(
        "publish:tcp:*:8080", "tcp", 8080, "10.1.0.2", 80, None, None, True, False)[0]
