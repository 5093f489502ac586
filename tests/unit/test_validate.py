"""Input validation: every error names the field and says what is wrong."""

import pytest

from ansible_collections.nsbridge.network.plugins.module_utils.common import validate
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError


@pytest.mark.parametrize("name", ["eth0", "veth-web1", "a" * 15, "br.10"])
def test_ifname_accepts(name):
    assert validate.ifname(name, "name") == name


@pytest.mark.parametrize("name,text", [
    ("a" * 16, "at most 15 bytes"), ("é" * 8, "at most 15 bytes"), ("a/b", "not a valid"),
    ("a b", "not a valid"), ("..", "not a valid"), (".", "not a valid"), ("", "non-empty"), ("a:b", "not a valid"),
])
def test_ifname_refuses(name, text):
    with pytest.raises(ValidationError) as exc:
        validate.ifname(name, "pairs[3].name")
    assert str(exc.value).startswith("pairs[3].name: ") and text in str(exc.value)


def test_interface_cidr():
    assert str(validate.interface_cidr("10.10.0.1/16", "a")) == "10.10.0.1/16"
    assert str(validate.interface_cidr("fd00::1/64", "a")) == "fd00::1/64"
    for bad, text in (("10.0.0.300/24", "not an IPv4 or IPv6 network"), ("10.0.0.1", "prefix length"),
                      ("10.0.0.0/24", "network address"), ("x/24", "not an IPv4")):
        with pytest.raises(ValidationError) as exc:
            validate.interface_cidr(bad, "peer_addresses[0]")
        assert "peer_addresses[0]: " in str(exc.value) and text in str(exc.value)
    assert str(validate.interface_cidr("10.0.0.0/31", "a")) == "10.0.0.0/31"


def test_netns_name_mac_mtu_unique():
    assert validate.netns_name("web-1", "name") == "web-1"
    for bad in ("a/b", "..", "", "."):
        with pytest.raises(ValidationError):
            validate.netns_name(bad, "name")
    assert validate.mac("02:AA:bb:00:00:01", "mac") == "02:aa:bb:00:00:01"
    with pytest.raises(ValidationError, match="multicast"):
        validate.mac("01:00:5e:00:00:01", "mac")
    with pytest.raises(ValidationError, match="not a MAC"):
        validate.mac("02:00:00:00:00", "mac")
    with pytest.raises(ValidationError, match="68..65535"):
        validate.mtu(67, "mtu")
    with pytest.raises(ValidationError) as exc:
        validate.unique(["a", "b", "a"], lambda x: x, lambda i: "name[%d]" % i, "namespace")
    assert str(exc.value) == "name[2]: namespace 'a' is also given by item 0"
