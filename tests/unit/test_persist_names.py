"""The names of the records a reboot restores (day2/persist.py): the default project keeps the name it
had before projects, any other adds its own (the integration tests run in projects of their own)."""

from ansible_collections.nsbridge.network.plugins.module_utils.day2.persist import record_file


def test_record_file_names_the_project_unless_it_is_the_default():
    assert record_file("30-containers") == "30-containers.json"
    assert record_file("30-containers", "default") == "30-containers.json"
    assert record_file("30-containers", "shop") == "30-containers@shop.json"
    assert sorted([record_file("20-networks", "shop"), record_file("20-networks"), record_file("10-fleet", "a")]) == [
        "10-fleet@a.json", "20-networks.json", "20-networks@shop.json"], "restored in name order, by record first"
