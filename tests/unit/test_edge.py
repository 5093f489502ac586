"""The module edge: batch and single forms, and one fail_json with context."""

from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import field
from ansible_collections.nsbridge.network.plugins.module_utils.engine.edge import batch_items, run
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError
from ansible_collections.nsbridge.network.plugins.module_utils.engine.reconcile import ItemPlan, Planned, Step


class FakeModule:
    """Stands in for AnsibleModule at the edge only (no kernel is involved here)."""

    def __init__(self, params, check_mode=False, diff=False):
        self.params, self.check_mode, self._diff = params, check_mode, diff
        self.exit = self.fail = None
        self.warnings = []

    def exit_json(self, **kw):
        self.exit = kw

    def fail_json(self, **kw):
        self.fail = kw

    def warn(self, msg):
        self.warnings.append(msg)


def test_batch_items_single_and_list():
    assert batch_items({"name": "a", "mtu": 1, "pairs": None}, "pairs", ("name", "mtu")) == [("", {"name": "a", "mtu": 1})]
    assert batch_items({"pairs": [{"name": "a"}, {"name": "b"}]}, "pairs", ("name",))[1] == ("pairs[1]", {"name": "b"})
    assert field("", "mtu") == "mtu" and field("pairs[1]", "mtu") == "pairs[1].mtu"


def test_run_reports_results_and_diff():
    ran = []

    def plan(params, ctx):
        return Planned([ItemPlan("x", "x", None, {"name": "x"}, [Step("make x", lambda: ran.append(1))])], {"extra": 1})
    module = FakeModule({}, diff=True)
    run(module, "netns", plan, "things")
    assert ran == [1]
    assert module.exit["changed"] and module.exit["things"] == [{"name": "x"}] and module.exit["extra"] == 1
    assert module.exit["diff"] == {"before": {"x": None}, "after": {"x": {"name": "x"}}}


def test_run_turns_errors_into_one_fail_json():
    def plan(params, ctx):
        raise ValidationError("'10.0.0.300/24' is not an IPv4 or IPv6 network", "pairs[3].peer_addresses[0]")
    module = FakeModule({})
    run(module, "veth", plan, "pairs")
    assert module.fail["msg"] == ("nsbridge.network.veth: pairs[3].peer_addresses[0]: "
                                  "'10.0.0.300/24' is not an IPv4 or IPv6 network")
    assert module.exit is None
