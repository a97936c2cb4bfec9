#!/usr/bin/env python3
"""An ECS endpoint that plays a rollout as a timeline, for what moto never
does (a rollout in progress, a circuit-breaker rollback, stopped tasks with
exit codes), through real pipes:

    scripts/scripted_ecs.py SCENARIO.json [PORT]

serves ECS's JSON 1.1 protocol on 127.0.0.1 (PORT, or a free one), prints
the port on stdout, and logs one line per request on stderr (`Action t=SECONDS`).
Point a tool at it with AWS_ENDPOINT_URL=http://127.0.0.1:PORT (any
credentials and region).

A scenario is a JSON object:

    {"timeline": [{"at": 0, "services": [...], "serviceDeployments": [...]},
                  {"at": 6, "services": [...], ...}],
     "tasks": [...]}

Time starts at the first request. DescribeServices and UpdateService answer
with the services of the last step whose `at` has passed (UpdateService: the
one named), DescribeServiceDeployments with its service deployments (an
unknown ARN in `failures`, MISSING), ListTasks and DescribeTasks with
`tasks` (ListTasks filtered by desiredStatus). RegisterTaskDefinition and
DescribeTaskDefinition keep task definitions in memory, starting from the
scenario's `taskDefinitions` (so a whole pipe, taskdef-render --family and
ecs-deploy included, can run against it). Any other action is a 400
UnknownOperationException naming it. ContinueServiceDeployment and
StopServiceDeployment answer for a service deployment the current step
knows, and bring on the steps marked `"after": ACTION` (their `at` counted
from that call): a paused rollout that goes on only once continued, a
deployment that stops only once stopped. Scenarios live in
scripts/scenarios/.
"""
import json
import http.server
import sys
import time

SCENARIO = json.load(open(sys.argv[1]))
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
START = None


def now():
    global START
    if START is None:
        START = time.monotonic()
    return time.monotonic() - START


# When each steering action (ContinueServiceDeployment,
# StopServiceDeployment) was first called, on the scenario's clock.
CALLED = {}


def step():
    """The last step whose time has come: a step with `"after": ACTION`
    counts its `at` from ACTION's first call, and never comes without it."""
    t = now()
    current = SCENARIO["timeline"][0]
    for s in SCENARIO["timeline"]:
        after = s.get("after")
        if after is None and s["at"] <= t:
            current = s
        elif after in CALLED and CALLED[after] + s["at"] <= t:
            current = s
    return current


def steer(action):
    """ContinueServiceDeployment / StopServiceDeployment: a deployment the
    current step knows is answered (and the call remembered, so that the
    steps `after` it come); another is a 400 as ECS says it."""
    def handle(body):
        arn = body.get("serviceDeploymentArn", "")
        known = {d["serviceDeploymentArn"] for d in step().get("serviceDeployments", [])}
        if arn not in known:
            return 400, {"__type": "ServiceDeploymentNotFoundException",
                         "message": f"Service deployment {arn} not found."}
        CALLED.setdefault(action, now())
        sys.stderr.write(f"{action} {json.dumps(body, sort_keys=True)}\n")
        return 200, {"serviceDeploymentArn": arn}
    return handle


def name_of(arn):
    return arn.rsplit("/", 1)[-1]


def describe_services(body):
    wanted = body.get("services", [])
    services, failures = [], []
    for w in wanted:
        found = [s for s in step().get("services", [])
                 if w in (s.get("serviceName"), s.get("serviceArn"))
                 or name_of(w) == s.get("serviceName")]
        if found:
            services.append(found[0])
        else:
            failures.append({"arn": w, "reason": "MISSING"})
    return {"services": services, "failures": failures}


def update_service(body):
    answer = describe_services({"services": [body.get("service", "")]})
    if not answer["services"]:
        return 400, {"__type": "ServiceNotFoundException", "message": "Service not found."}
    return 200, {"service": answer["services"][0]}


def describe_service_deployments(body):
    have = {d["serviceDeploymentArn"]: d for d in step().get("serviceDeployments", [])}
    arns = body.get("serviceDeploymentArns", [])
    return {"serviceDeployments": [have[a] for a in arns if a in have],
            "failures": [{"arn": a, "reason": "MISSING"} for a in arns if a not in have]}


def list_tasks(body):
    status = body.get("desiredStatus", "RUNNING")
    return {"taskArns": [t["taskArn"] for t in SCENARIO.get("tasks", [])
                         if t.get("desiredStatus", "STOPPED") == status]}


def describe_tasks(body):
    wanted = set(body.get("tasks", []))
    return {"tasks": [t for t in SCENARIO.get("tasks", []) if t["taskArn"] in wanted],
            "failures": []}


TASK_DEFINITIONS = list(SCENARIO.get("taskDefinitions", []))
ACCOUNT_ARN = "arn:aws:ecs:us-east-1:123456789012"


def register_task_definition(body):
    family = body.get("family", "")
    revision = 1 + max([t["revision"] for t in TASK_DEFINITIONS if t["family"] == family] or [0])
    td = dict(body)
    td.pop("tags", None)
    td.update({"revision": revision, "status": "ACTIVE",
               "taskDefinitionArn": f"{ACCOUNT_ARN}:task-definition/{family}:{revision}"})
    TASK_DEFINITIONS.append(td)
    return 200, {"taskDefinition": td, "tags": body.get("tags", [])}


def describe_task_definition(body):
    name = body.get("taskDefinition", "")
    name = name.rsplit("/", 1)[-1]
    family, _, revision = name.partition(":")
    found = [t for t in TASK_DEFINITIONS if t["family"] == family
             and (not revision or str(t["revision"]) == revision)]
    if not found:
        return 400, {"__type": "ClientException", "message": "Unable to describe task definition."}
    return 200, {"taskDefinition": max(found, key=lambda t: t["revision"]), "tags": []}


ACTIONS = {
    "RegisterTaskDefinition": register_task_definition,
    "DescribeTaskDefinition": describe_task_definition,
    "DescribeServices": lambda b: (200, describe_services(b)),
    "UpdateService": update_service,
    "DescribeServiceDeployments": lambda b: (200, describe_service_deployments(b)),
    "ListTasks": lambda b: (200, list_tasks(b)),
    "DescribeTasks": lambda b: (200, describe_tasks(b)),
    "ContinueServiceDeployment": steer("ContinueServiceDeployment"),
    "StopServiceDeployment": steer("StopServiceDeployment"),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        action = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        handler = ACTIONS.get(action)
        if handler:
            status, answer = handler(body)
        else:
            status, answer = 400, {"__type": "UnknownOperationException",
                                   "message": f"scripted_ecs.py does not play {action}"}
        sys.stderr.write(f"{action} t={now():.1f} {status}\n")
        sys.stderr.flush()
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
