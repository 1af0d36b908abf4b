"""The Deployment controller: declarative rollouts over ReplicaSets.

    controller.py   handlers, sync(key), adoption, the writes it makes
    sync.py         the new ReplicaSet (hash, revision, collisions), proportional
                    scaling, revisionHistoryLimit cleanup, status
    rollout.py      RollingUpdate (maxSurge / maxUnavailable) and Recreate steps
    progress.py     Progressing / Available conditions, progressDeadlineSeconds
    util.py         surge arithmetic, annotations, sums over ReplicaSets

It talks to the API server only through the client: Deployments, ReplicaSets and
Pods come from shared informers; ReplicaSets are written with PUT (a stale copy
gets a 409 and the sync is retried), the Deployment's status with PUT status, its
revision annotation with a merge patch. The ReplicaSet controller makes the pods.
"""

from .controller import DeploymentController

__all__ = ["DeploymentController"]
