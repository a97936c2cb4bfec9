"""Starts moto's server with one fix for a moto bug, and one teaching.

moto 5.2 stores a task container's `cpu` and `memory` as they appear in the
container definition (numbers), and returns them as JSON numbers. The ECS API
model says strings, and real ECS sends strings, so the Rust SDK rejects every
DescribeTasks and RunTask response from an unpatched moto ("type mismatch:
expected string"). This wraps `Container.__init__` to turn the two into
strings, then hands over to moto's own `main()` with the same arguments.

The teaching: moto stops every task with exit code 0. A task started with a
container command override `exit N` (as ["exit", "N"], ["exit N"], or a
shell's ["sh", "-c", "exit N"]) stops with exit code N instead, so that a
failing one-off task (a migration) runs for real, end to end, through
ecs-run. And moto gives a task only its first container: every container
of the definition is there, as ECS reports them.

And moto's UpdateService with another task definition changes the service's
`taskDefinition` but not its deployment's: the PRIMARY deployment still
names the old revision under the old id, as if nothing had rolled out. ECS
starts a new deployment for a new revision; here the PRIMARY deployment
takes a new id and the new revision (moto has no rollout to play, so the new
deployment replaces the old one at once, as --force-new-deployment already
does in moto). Nothing else changes.

And moto reports every registered load balancer target healthy. A target
group whose name begins with `unhealthy-timeout-` reports its registered
targets unhealthy with Target.Timeout ("Request timed out"), and one whose
name begins with `unhealthy-codes-` with Target.ResponseCodeMismatch
("Health checks failed with these codes: [404]"), as ELB does when a
security group keeps the load balancer out or the health-check path is
wrong: the tests of ecs-wait's failure report ask them why.

And with IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT), moto answers an
unsigned sts:AssumeRoleWithWebIdentity with HTTP 500 (it reads the missing
Authorization header). AWS takes that call unsigned: it is how a CI job's
OIDC token becomes credentials. Such a request skips the check here, as
moto already skips its own list of public JSON operations.
"""

import re

import sys

import moto.ecs.models as ecs_models
from moto.server import main

_original_init = ecs_models.Container.__init__


def _init_with_string_sizes(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    for attr in ("cpu", "memory"):
        value = getattr(self, attr, None)
        if value is not None and not isinstance(value, str):
            setattr(self, attr, str(value))


ecs_models.Container.__init__ = _init_with_string_sizes

_EXIT = re.compile(r"^\s*exit\s+(\d+)\s*$")


def _exit_code(command):
    """N when the command is `exit N` in one of its usual spellings."""
    if not command:
        return None
    words = [str(w) for w in command]
    shells = (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"], ["/bin/bash", "-c"])
    if words[:2] in shells and len(words) >= 3:
        words = [words[2]]
    match = _EXIT.match(" ".join(words))
    # As a shell reports it: the code modulo 256.
    return int(match.group(1)) % 256 if match else None


_original_task_init = ecs_models.Task.__init__


def _task_init_with_exit_codes(self, *args, **kwargs):
    _original_task_init(self, *args, **kwargs)
    task_definition = kwargs.get("task_definition") or (args[1] if len(args) > 1 else None)
    for definition in (getattr(task_definition, "container_definitions", None) or [])[1:]:
        container = ecs_models.Container(task_definition)
        container.name = definition.get("name")
        container.image = definition.get("image")
        container.cpu = str(definition.get("cpu", 0))
        memory = definition.get("memory")
        container.memory = None if memory is None else str(memory)
        container.environment = definition.get("environment")
        container.command = definition.get("command")
        self.containers.append(container)
    for override in (self.overrides or {}).get("containerOverrides", []):
        code = _exit_code(override.get("command"))
        if code is None:
            continue
        for container in self.containers:
            if container.name == override.get("name"):
                container.exitCode = code


ecs_models.Task.__init__ = _task_init_with_exit_codes

_original_update_service = ecs_models.EC2ContainerServiceBackend.update_service


def _update_service_deploys(self, service_properties):
    wanted = service_properties.get("task_definition")
    service = _original_update_service(self, service_properties)
    if wanted and service.deployments:
        arn = self.describe_task_definition(wanted).arn
        service.task_definition = arn
        deployment = service.deployments[0]
        if deployment.get("taskDefinition") != arn:
            old, new = deployment["id"], f"ecs-svc/{ecs_models.mock_random.randint(0, 32**12)}"
            deployment["taskDefinition"] = arn
            deployment["id"] = new
            now = ecs_models.utcnow()
            deployment["createdAt"] = now
            deployment["updatedAt"] = now
            reason = deployment.get("rolloutStateReason")
            if reason:
                deployment["rolloutStateReason"] = reason.replace(old, new)
    return service


ecs_models.EC2ContainerServiceBackend.update_service = _update_service_deploys

import moto.elbv2.models as elbv2_models  # noqa: E402

_UNHEALTHY = {
    "unhealthy-timeout-": ("Target.Timeout", "Request timed out"),
    "unhealthy-codes-": ("Target.ResponseCodeMismatch", "Health checks failed with these codes: [404]"),
}
_original_health_for = elbv2_models.FakeTargetGroup.health_for


def _health_for_taught(self, target, ec2_backend):
    status = _original_health_for(self, target, ec2_backend)
    for prefix, (reason, description) in _UNHEALTHY.items():
        if self.name.startswith(prefix) and status.status == "healthy":
            return elbv2_models.FakeHealthStatus(
                status.instance_id, status.port, status.health_check_port,
                "unhealthy", reason, description)
    return status


elbv2_models.FakeTargetGroup.health_for = _health_for_taught

from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402

_UNSIGNED = ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML")
_original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authorize_unless_unsigned_sts(self, iam_request_cls, resource="*"):
    if "Authorization" not in self.headers and self._get_action() in _UNSIGNED:
        return None
    return _original_authorize(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize_unless_unsigned_sts

if __name__ == "__main__":
    main(sys.argv[1:])
