"""Action plugin service_validate: a role's whole input check as one task (tasks_from: validate).

  1. The calling role's variables are validated against its argument spec (the `main` entry
     point of its meta/argument_specs.yml; the caller is ansible_parent_role_paths[0]), with
     the same validator and messages as the task Ansible prepends to a role. The playbooks
     import the roles with `rolespec_validate: false`, so that check costs no task of its own;
     a role applied with `roles:` is checked twice, with the same result.
  2. Only when the types hold, `problems` is templated: the checks types cannot express
     (filters service_checks, service_problems and service_rule_problems), each message
     naming its variable.

Without a calling role (a playbook's own include), only step 2 runs. Changes nothing and runs
in check mode alike. Unit tests: tests/test_service_plan_action.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("service_plan", Path(__file__).resolve().parent / "service_plan.py")
service_plan = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(service_plan)


def caller_spec_problems(role_path: str, task_vars: dict, template) -> tuple[str, list[str]]:
    """(the role's name, the argument spec's messages) for the role at role_path: its `main`
    options validated against the values task_vars holds (templated with `template`)."""
    spec = service_plan.main_spec(Path(role_path) / "meta" / "argument_specs.yml")
    return Path(role_path).name, service_plan.vars_spec_problems(spec, task_vars, template)


class ActionModule(service_plan.AfterSpecAction):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("problems",))
    # The checks: templated after the argument spec, so a value of the wrong type is named by
    # the spec rather than by a filter's error.
    AFTER_SPEC = frozenset(("problems",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result["changed"] = False
        task_vars = task_vars or {}
        parents = task_vars.get("ansible_parent_role_paths") or []
        if parents:
            role, errors = caller_spec_problems(parents[0], task_vars, self._templar.template)
            if errors:
                return {**result, "failed": True, "argument_errors": errors,
                        "msg": f"Validation of arguments failed (the {role} role's meta/argument_specs.yml, "
                               "entry point main):\n" + "\n".join(errors)}
        problems = self._templar.template(self._task.args.get("problems", []))
        if not isinstance(problems, list):
            return {**result, "failed": True, "msg": f"service_validate: problems must be a list, got {problems!r}"}
        if problems:
            return {**result, "failed": True, "msg": "; ".join(str(p) for p in problems)}
        result["msg"] = "All inputs are valid"
        return result
