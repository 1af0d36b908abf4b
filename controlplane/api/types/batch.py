"""batch/v1 Job: pods that run to completion.

Defaults as Kubernetes: parallelism 1 (and completions 1 when neither is set),
backoffLimit 6, completionMode NonIndexed, suspend false. On create the selector
is generated from the Job's uid (`batch.kubernetes.io/controller-uid`) and the
template labelled to match, unless `manualSelector` is set; the template must
restart OnFailure or Never and is immutable afterwards.
"""

from __future__ import annotations

from .. import errors, meta, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import BOOL, INT32, INT64, STRING, TIME, Field, ListOf, Struct
from . import workloads as w
from .metav1 import LABEL_SELECTOR, top_level
from .podspec import POD_TEMPLATE_SPEC
from .podspec_defaults import default_template

BATCH = "io.k8s.api.batch.v1."
UID_LABEL = "batch.kubernetes.io/controller-uid"
NAME_LABEL = "batch.kubernetes.io/job-name"

JOB_CONDITION = Struct(BATCH + "JobCondition", "JobCondition describes current state of a "
                       "job.", {
    "type": Field(STRING, "Type of job condition: Complete, Failed, Suspended, "
                  "FailureTarget, SuccessCriteriaMet.", required=True),
    "status": Field(STRING, "Status of the condition, one of True, False, Unknown.",
                    required=True),
    "lastProbeTime": Field(TIME, "Last time the condition was checked."),
    "lastTransitionTime": Field(TIME, "Last time the condition transit from one status to "
                                "another."),
    "reason": Field(STRING, "(brief) reason for the condition's last transition."),
    "message": Field(STRING, "Human readable message indicating details about last "
                     "transition."),
})

POD_FAILURE_POLICY = Struct(BATCH + "PodFailurePolicy", "PodFailurePolicy describes how "
                            "failed pods influence the backoffLimit.", {
    "rules": Field(ListOf(Struct(BATCH + "PodFailurePolicyRule", "PodFailurePolicyRule "
                                 "describes how a pod failure is handled when the "
                                 "requirements are met.", {
        "action": Field(STRING, "Specifies the action taken on a pod failure when the "
                        "requirements are satisfied: FailJob, FailIndex, Ignore, Count.",
                        required=True),
        "onExitCodes": Field(Struct(BATCH + "PodFailurePolicyOnExitCodesRequirement",
                                    "Requirement for handling a failed pod based on its "
                                    "container exit codes.", {
            "containerName": Field(STRING, "Restricts the check for exit codes to the "
                                   "container with the specified name."),
            "operator": Field(STRING, "In or NotIn.", required=True),
            "values": Field(ListOf(INT32, list_type="set"), "Specifies the set of values.",
                            required=True),
        }), "Represents the requirement on the container exit codes."),
        "onPodConditions": Field(ListOf(Struct(BATCH + "PodFailurePolicyOnPodConditions"
                                               "Pattern", "Requirement for handling a failed "
                                               "pod based on its conditions.", {
            "type": Field(STRING, "Specifies the required Pod condition type.",
                          required=True),
            "status": Field(STRING, "Specifies the required Pod condition status."),
        }), list_type="atomic"), "Represents the requirement on the pod conditions."),
    }), list_type="atomic"), "A list of pod failure policy rules.", required=True),
})

JOB = top_level(BATCH + "Job", "Job represents the configuration of a single job.",
                ("batch", "v1", "Job"),
    Struct(BATCH + "JobSpec", "JobSpec describes how the job execution will look like.", {
        "parallelism": Field(INT32, "Specifies the maximum desired number of pods the job "
                             "should run at any given time."),
        "completions": Field(INT32, "Specifies the desired number of successfully finished "
                             "pods the job should be run with."),
        "activeDeadlineSeconds": Field(INT64, "Specifies the duration in seconds relative to "
                                       "the startTime that the job may be continuously "
                                       "active before the system tries to terminate it."),
        "podFailurePolicy": Field(POD_FAILURE_POLICY, "Specifies the policy of handling "
                                  "failed pods."),
        "backoffLimit": Field(INT32, "Specifies the number of retries before marking this "
                              "job failed. Defaults to 6."),
        "backoffLimitPerIndex": Field(INT32, "Specifies the limit for the number of retries "
                                      "within an index before marking this index as failed."),
        "maxFailedIndexes": Field(INT32, "Specifies the maximal number of failed indexes "
                                  "before marking the Job as failed."),
        "selector": Field(LABEL_SELECTOR, "A label query over pods that should match the pod "
                          "count. Normally, the system sets this field for you."),
        "manualSelector": Field(BOOL, "manualSelector controls generation of pod labels and "
                                "pod selectors. Leave unset unless you are certain."),
        "template": Field(POD_TEMPLATE_SPEC, "Describes the pod that will be created when "
                          "executing a job. The only allowed restartPolicy values are "
                          "\"Never\" or \"OnFailure\".", required=True),
        "ttlSecondsAfterFinished": Field(INT32, "limits the lifetime of a Job that has "
                                         "finished execution."),
        "completionMode": Field(STRING, "completionMode specifies how Pod completions are "
                                "tracked: NonIndexed (default) or Indexed.",
                                default="NonIndexed"),
        "suspend": Field(BOOL, "suspend specifies whether the Job controller should create "
                         "Pods or not. Defaults to false.", default=False),
        "podReplacementPolicy": Field(STRING, "When to create replacement Pods: "
                                      "TerminatingOrFailed or Failed."),
        "managedBy": Field(STRING, "The controller that manages the Job."),
    }),
    Struct(BATCH + "JobStatus", "JobStatus represents the current state of a Job.", {
        "conditions": Field(ListOf(JOB_CONDITION, list_type="atomic"), "The latest available "
                            "observations of an object's current state."),
        "startTime": Field(TIME, "Represents time when the job controller started processing "
                           "a job."),
        "completionTime": Field(TIME, "Represents time when the job was completed."),
        "active": Field(INT32, "The number of pending and running pods which are not "
                        "terminating."),
        "succeeded": Field(INT32, "The number of pods which reached phase Succeeded."),
        "failed": Field(INT32, "The number of pods which reached phase Failed."),
        "terminating": Field(INT32, "The number of pods which are terminating."),
        "completedIndexes": Field(STRING, "completedIndexes holds the completed indexes when "
                                  ".spec.completionMode = \"Indexed\" in a text format."),
        "failedIndexes": Field(STRING, "FailedIndexes holds the failed indexes when "
                               "spec.backoffLimitPerIndex is set."),
        "uncountedTerminatedPods": Field(Struct(BATCH + "UncountedTerminatedPods",
                                                "UncountedTerminatedPods holds UIDs of Pods "
                                                "that have terminated but haven't been "
                                                "accounted in Job status counters.", {
            "succeeded": Field(ListOf(STRING, list_type="set"), "UIDs of succeeded Pods."),
            "failed": Field(ListOf(STRING, list_type="set"), "UIDs of failed Pods."),
        }), "the UIDs of Pods that have terminated but the job controller hasn't yet "
            "accounted for in the status counters."),
        "ready": Field(INT32, "The number of active pods which have a Ready condition."),
    }),
    "Specification of the desired behavior of a job.",
    "Current status of a job.")


def default(job: dict) -> None:
    spec = job.get("spec")
    if not isinstance(spec, dict):
        return
    default_template(spec.get("template"))
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = ("Failed" if spec.get("podFailurePolicy")
                                        else "TerminatingOrFailed")


def prepare(job: dict, old: dict | None) -> None:
    """On create: a fresh status, and the selector generated from the uid (the API
    server must have filled in `metadata.uid` already)."""
    if old is not None:
        return
    job["status"] = {}
    spec = job.get("spec")
    meta = job.get("metadata") or {}
    if not isinstance(spec, dict) or spec.get("manualSelector") or not meta.get("uid"):
        return
    uid, name = meta["uid"], meta.get("name", "")
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    labels.update({UID_LABEL: uid, NAME_LABEL: name, "controller-uid": uid, "job-name": name})
    spec["selector"] = {"matchLabels": {UID_LABEL: uid}}


def validate(job: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(job, old, namespaced=True)
    if subresource == "status":
        status = job.get("status") or {}
        for key in ("active", "succeeded", "failed", "ready", "terminating"):
            found += v.non_negative(f"status.{key}", status.get(key))
        return found
    spec = job.get("spec") or {}
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        found += v.non_negative(f"spec.{key}", spec.get(key))
    found += v.positive("spec.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"))
    found += v.one_of("spec.completionMode", spec.get("completionMode", "NonIndexed"),
                      ["NonIndexed", "Indexed"])
    if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
        found.append(errors.required("spec.completions", "when completion mode is Indexed"))
    found += w.selector_and_template(spec, "Job", restart_policies=("OnFailure", "Never"))
    if old is not None:
        old_spec = old.get("spec") or {}
        found += w.selector_immutable(spec, old_spec)
        if spec.get("template") != old_spec.get("template") and not old_spec.get("suspend"):
            found.append(errors.invalid("spec.template", spec.get("template"), v.IMMUTABLE))
        if spec.get("completionMode") != old_spec.get("completionMode"):
            found += v.immutable("spec.completionMode", spec.get("completionMode"),
                                 old_spec.get("completionMode"))
    return found


def _has(status: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in status.get("conditions") or [])


def job_status(job: dict) -> str:
    status = job.get("status") or {}
    if _has(status, "Complete"):
        return "Complete"
    if _has(status, "Failed"):
        return "Failed"
    if (job.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _has(status, kind):
            return kind
    return "Running"


def _row(job: dict) -> list:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    if status.get("startTime"):
        start = meta.parse_time(status["startTime"])
        end = meta.parse_time(status.get("completionTime")) or meta.now()
        duration = tables.human_duration((end - start).total_seconds())
    return [tables.name(job), job_status(job), completions, duration, tables.age(job),
            *w.wide_cells(job)]


COLUMNS = [
    tables.NAME,
    tables.column("Status", "string", "Status of the job."),
    tables.column("Completions", "string", "The completion status of the job."),
    tables.column("Duration", "string", "Time required to complete the job."),
    tables.AGE,
    *w.WIDE_COLUMNS,
]

JOBS = register(ResourceType(
    "batch", "v1", "Job", "jobs", "job", True, JOB, categories=("all",),
    subresources=("status",), defaulter=default, validator=validate, preparer=prepare,
    tabler=lambda objs, wide=True: tables.build(COLUMNS, _row, objs, wide),
    fields=lambda job, path: (str((job.get("status") or {}).get("succeeded", 0))
                              if path == "status.successful" else None),
    field_paths=("status.successful",)))
