"""nsbridge.network.bridge on the real kernel."""

from conftest import converge_four_times, warning_text


def test_create_with_address_mtu_and_diff(sandbox):
    check, real, _check_again, _real_again = converge_four_times(sandbox, "bridge", name="br0", addresses=["10.10.0.1/16"], mtu=1400)
    after = real["diff"]["after"]["br0"]
    assert after["addresses"] == ["10.10.0.1/16"] and after["mtu"] == 1400 and after["stp"] is False
    link = sandbox.links()["br0"]
    assert link["kind"] == "bridge" and link["up"] and link["mtu"] == 1400
    assert "10.10.0.1/16" in sandbox.sh(None, "ip", "-br", "addr", "show", "br0").stdout
    assert real["bridges"][0]["name"] == "br0"


def test_converge_addresses_stp_mtu_in_place(sandbox):
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/16"])
    index = sandbox.links()["br0"]["index"]
    result = sandbox.run("bridge", diff=True, name="br0", addresses=["10.20.0.1/24", "fd00:10::1/64"], stp=True, mtu=1450)
    assert result["changed"]
    diff = result["diff"]
    assert diff["before"]["br0"]["addresses"] == ["10.10.0.1/16"]
    assert diff["after"]["br0"]["addresses"] == ["10.20.0.1/24", "fd00:10::1/64"]
    assert diff["after"]["br0"]["stp"] is True
    link = sandbox.links()["br0"]
    assert link["index"] == index, "converged in place, not re-created"
    assert link["stp"] is True and link["mtu"] == 1450
    addrs = sandbox.sh(None, "ip", "-br", "addr", "show", "br0").stdout
    assert "10.20.0.1/24" in addrs and "10.10.0.1/16" not in addrs and "fd00:10::1/64" in addrs
    assert sandbox.run("bridge", name="br0", addresses=["10.20.0.1/24", "fd00:10::1/64"], stp=True, mtu=1450)["changed"] is False
    # omitted addresses: left as they are; [] removes them
    assert sandbox.run("bridge", name="br0", stp=True)["changed"] is False
    cleared = sandbox.run("bridge", name="br0", stp=True, addresses=[])
    assert cleared["changed"] and "inet " not in sandbox.sh(None, "ip", "addr", "show", "br0").stdout


def test_ports_enslaves_existing_interfaces(sandbox):
    # two "NICs" (this kernel has no dummy driver: a veth end plays each one)
    sandbox.sh(None, "ip", "link", "add", "lan1", "type", "veth", "peer", "lan1p")
    sandbox.sh(None, "ip", "link", "add", "lan2", "type", "veth", "peer", "lan2p")
    converge_four_times(sandbox, "bridge", name="brlan", ports=["lan1", "lan2"], addresses=[])
    links = sandbox.links()
    assert links["lan1"]["master"] == links["brlan"]["index"] and links["lan1"]["up"]
    assert links["lan2"]["master"] == links["brlan"]["index"]
    missing = sandbox.run("bridge", name="brlan", ports=["lan1", "nosuch"])
    assert missing["failed"] and "ports[1]" in missing["msg"] and "nosuch" in missing["msg"]
    # absent deletes the bridge, the foreign ports stay
    sandbox.run("bridge", name="brlan", state="absent")
    links = sandbox.links()
    assert "brlan" not in links and "lan1" in links and "lan2" in links


def test_non_bridge_name_is_an_error(sandbox):
    sandbox.sh(None, "ip", "link", "add", "notabr", "type", "veth", "peer", "notabrp")
    result = sandbox.run("bridge", name="notabr")
    assert result["failed"] and "name: " in result["msg"] and "is a veth link, not a bridge" in result["msg"]
    assert sandbox.links()["notabr"]["kind"] == "veth"
    absent = sandbox.run("bridge", name="notabr", state="absent")
    assert not absent.get("failed") and absent["changed"] is False
    assert "notabr" in sandbox.links()


def test_absent_twice_and_foreign_bridge_kept(sandbox):
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/16"])
    sandbox.sh(None, "ip", "link", "add", "theirs", "type", "bridge")
    check = sandbox.run("bridge", check=True, bridges=[{"name": "br0", "state": "absent"}, {"name": "theirs", "state": "absent"}])
    assert check["changed"] and "br0" in sandbox.links()
    first = sandbox.run("bridge", bridges=[{"name": "br0", "state": "absent"}, {"name": "theirs", "state": "absent"}])
    assert first["changed"] and "br0" not in sandbox.links()
    assert "theirs" in sandbox.links(), "a bridge nsbridge did not create is never deleted"
    assert "theirs" in warning_text(first)
    second = sandbox.run("bridge", bridges=[{"name": "br0", "state": "absent"}])
    assert second["changed"] is False


def test_bad_input_names_the_field(sandbox):
    cases = [
        (dict(name="a" * 16), "name", "at most 15 bytes"),
        (dict(name="bad/if"), "name", "not a valid interface name"),
        (dict(name="bad if"), "name", "not a valid interface name"),
        (dict(name=".."), "name", "not a valid interface name"),
        (dict(name="br0", addresses=["10.0.0.300/24"]), "addresses[0]", "not an IPv4 or IPv6 network"),
        (dict(name="br0", addresses=["10.0.0.1"]), "addresses[0]", "prefix length"),
        (dict(name="br0", netns="nosuch-" + sandbox.prefix), "netns", "does not exist"),
        (dict(bridges=[{"name": "ok0"}, {"name": "br0", "mtu": 20}]), "bridges[1].mtu", "68..65535"),
    ]
    for args, field, text in cases:
        result = sandbox.run("bridge", **args)
        assert result.get("failed"), args
        assert "nsbridge.network.bridge: %s:" % field in result["msg"] and text in result["msg"], result["msg"]
    assert not {"br0", "ok0"} & set(sandbox.links()), "nothing made on bad input"


def test_bridge_inside_a_namespace(sandbox):
    router = sandbox.name("rt")
    sandbox.run("netns", name=[router])
    converge_four_times(sandbox, "bridge", name="br9", netns=router, addresses=["192.168.90.1/24"])
    assert "br9" in sandbox.links(router) and "br9" not in sandbox.links()


def test_address_is_fixed_and_never_follows_the_ports(sandbox):
    # a bridge left to the kernel takes its lowest port's MAC and changes it as ports come and go;
    # containers' ARP entries for their gateway would then point at a MAC nobody answers to
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/24"])
    mac = sandbox.links()["br0"]["mac"]
    assert int(mac[:2], 16) & 0x03 == 0x02, "a unicast, locally administered address: %s" % mac
    sandbox.sh(None, "ip", "link", "add", "low", "address", "02:00:00:00:00:01", "type", "veth", "peer", "lowp")
    sandbox.run("bridge", name="br0", ports=["low"])
    assert sandbox.links()["br0"]["mac"] == mac, "a lower port's MAC was taken"
    sandbox.sh(None, "ip", "link", "delete", "low")
    assert sandbox.links()["br0"]["mac"] == mac
    assert sandbox.run("bridge", name="br0")["changed"] is False, "an existing bridge keeps its address"


def test_mac_given_is_set_and_converged(sandbox):
    check, real, _check_again, _real_again = converge_four_times(sandbox, "bridge", name="br0", mac="02:AA:00:00:00:07")
    assert real["diff"]["after"]["br0"]["mac"] == "02:aa:00:00:00:07"
    assert sandbox.links()["br0"]["mac"] == "02:aa:00:00:00:07"
    changed = sandbox.run("bridge", diff=True, name="br0", mac="02:aa:00:00:00:08")
    assert changed["changed"] and changed["diff"]["before"]["br0"]["mac"] == "02:aa:00:00:00:07"
    assert sandbox.links()["br0"]["mac"] == "02:aa:00:00:00:08"
    bad = sandbox.run("bridge", bridges=[{"name": "br0"}, {"name": "br1", "mac": "01:00:5e:00:00:01"}])
    assert bad["failed"] and "bridges[1].mac" in bad["msg"] and "multicast" in bad["msg"]
    assert "br1" not in sandbox.links()
