"""core/v1 Volume and its sources: emptyDir, hostPath, configMap, secret,
downwardAPI, projected, persistentVolumeClaim, plus nfs, csi, ephemeral and image.

`VOLUME_SOURCES` lists the source fields: a volume must name exactly one (a volume
naming none is defaulted to an emptyDir, as Kubernetes does).
"""

from __future__ import annotations

from ..schema import BOOL, INT32, INT64, QUANTITY, STRING, Field, ListOf, MapOf, Struct
from .containers import OBJECT_FIELD_SELECTOR, RESOURCE_FIELD_SELECTOR
from .metav1 import LABEL_SELECTOR, LOCAL_OBJECT_REFERENCE, OBJECT_META

CORE = "io.k8s.api.core.v1."
DEFAULT_MODE = 0o644  # 420, what Kubernetes defaults file modes of projected files to

KEY_TO_PATH = Struct(CORE + "KeyToPath", "Maps a string key to a path within a volume.", {
    "key": Field(STRING, "key is the key to project.", required=True),
    "path": Field(STRING, "path is the relative path of the file to map the key to. May not "
                  "be an absolute path. May not contain the path element '..'.",
                  required=True),
    "mode": Field(INT32, "mode is Optional: mode bits used to set permissions on this file, "
                  "an octal value between 0000 and 0777 (or a decimal 0-511)."),
})

_MODE_DOC = ("Optional: mode bits used to set permissions on created files by default; "
             "an octal value between 0000 and 0777 or a decimal value between 0 and 511. "
             "Defaults to 0644.")

EMPTY_DIR = Struct(CORE + "EmptyDirVolumeSource", "Represents an empty directory for a pod. "
                   "Empty directory volumes support ownership management and SELinux "
                   "relabeling.", {
    "medium": Field(STRING, "medium represents what type of storage medium should back this "
                    "directory: \"\" (the node's default) or \"Memory\" (a tmpfs)."),
    "sizeLimit": Field(QUANTITY, "sizeLimit is the total amount of local storage required "
                       "for this EmptyDir volume."),
})

HOST_PATH = Struct(CORE + "HostPathVolumeSource", "Represents a host path mapped into a pod.", {
    "path": Field(STRING, "path of the directory on the host. If the path is a symlink, it "
                  "will follow the link to the real path.", required=True),
    "type": Field(STRING, "type for HostPath Volume: \"\", DirectoryOrCreate, Directory, "
                  "FileOrCreate, File, Socket, CharDevice or BlockDevice. Defaults to \"\".",
                  default=""),
})

CONFIG_MAP_VOLUME = Struct(CORE + "ConfigMapVolumeSource", "Adapts a ConfigMap into a "
                           "volume: each key becomes a file named by the key.", {
    "name": Field(STRING, "Name of the referent."),
    "items": Field(ListOf(KEY_TO_PATH, list_type="atomic"), "items if unspecified, each "
                   "key-value pair in the Data field of the referenced ConfigMap will be "
                   "projected into the volume as a file."),
    "defaultMode": Field(INT32, _MODE_DOC, default=DEFAULT_MODE),
    "optional": Field(BOOL, "optional specify whether the ConfigMap or its keys must be "
                      "defined"),
})

SECRET_VOLUME = Struct(CORE + "SecretVolumeSource", "Adapts a Secret into a volume: each key "
                       "becomes a file named by the key.", {
    "secretName": Field(STRING, "secretName is the name of the secret in the pod's "
                        "namespace to use."),
    "items": Field(ListOf(KEY_TO_PATH, list_type="atomic"), "items If unspecified, each "
                   "key-value pair in the Data field of the referenced Secret will be "
                   "projected into the volume as a file."),
    "defaultMode": Field(INT32, _MODE_DOC, default=DEFAULT_MODE),
    "optional": Field(BOOL, "optional field specify whether the Secret or its keys must be "
                      "defined"),
})

DOWNWARD_API_FILE = Struct(CORE + "DownwardAPIVolumeFile", "DownwardAPIVolumeFile represents "
                           "information to create the file containing the pod field", {
    "path": Field(STRING, "Required: Path is the relative path name of the file to be "
                  "created.", required=True),
    "fieldRef": Field(OBJECT_FIELD_SELECTOR, "Required: Selects a field of the pod: only "
                      "annotations, labels, name, namespace and uid are supported."),
    "resourceFieldRef": Field(RESOURCE_FIELD_SELECTOR, "Selects a resource of the container: "
                              "only resources limits and requests are supported."),
    "mode": Field(INT32, "Optional: mode bits used to set permissions on this file."),
})

DOWNWARD_API_VOLUME = Struct(CORE + "DownwardAPIVolumeSource", "DownwardAPIVolumeSource "
                             "represents a volume containing downward API info.", {
    "items": Field(ListOf(DOWNWARD_API_FILE, list_type="atomic"), "Items is a list of "
                   "downward API volume file"),
    "defaultMode": Field(INT32, _MODE_DOC, default=DEFAULT_MODE),
})

SERVICE_ACCOUNT_TOKEN_PROJECTION = Struct(CORE + "ServiceAccountTokenProjection", (
    "ServiceAccountTokenProjection represents a projected service account token volume."), {
    "audience": Field(STRING, "audience is the intended audience of the token."),
    "expirationSeconds": Field(INT64, "expirationSeconds is the requested duration of "
                               "validity of the service account token. Defaults to 1 hour.",
                               default=3600),
    "path": Field(STRING, "path is the path relative to the mount point of the file to "
                  "project the token into.", required=True),
})

CLUSTER_TRUST_BUNDLE_PROJECTION = Struct(CORE + "ClusterTrustBundleProjection", (
    "ClusterTrustBundleProjection describes how to select a set of ClusterTrustBundle "
    "objects and project their contents into the pod filesystem."), {
    "name": Field(STRING, "Select a single ClusterTrustBundle by object name."),
    "signerName": Field(STRING, "Select all ClusterTrustBundles that match this signer "
                        "name."),
    "labelSelector": Field(LABEL_SELECTOR, "Select all ClusterTrustBundles that match this "
                           "label selector."),
    "optional": Field(BOOL, "If true, don't block pod startup if the referenced "
                      "ClusterTrustBundle(s) aren't available."),
    "path": Field(STRING, "Relative path from the volume root to write the bundle.",
                  required=True),
})

_PROJECTED_CONFIG_MAP = Struct(CORE + "ConfigMapProjection", "Adapts a ConfigMap into a "
                               "projected volume.", {
    "name": Field(STRING, "Name of the referent."),
    "items": Field(ListOf(KEY_TO_PATH, list_type="atomic"), "keys to project, all if "
                   "unspecified"),
    "optional": Field(BOOL, "whether the ConfigMap or its keys must be defined"),
})

_PROJECTED_SECRET = Struct(CORE + "SecretProjection", "Adapts a secret into a projected "
                           "volume.", {
    "name": Field(STRING, "Name of the referent."),
    "items": Field(ListOf(KEY_TO_PATH, list_type="atomic"), "keys to project, all if "
                   "unspecified"),
    "optional": Field(BOOL, "whether the Secret or its keys must be defined"),
})

_PROJECTED_DOWNWARD_API = Struct(CORE + "DownwardAPIProjection", "Represents downward API "
                                 "info for projecting into a projected volume.", {
    "items": Field(ListOf(DOWNWARD_API_FILE, list_type="atomic"), "Items is a list of "
                   "DownwardAPIVolume file"),
})

VOLUME_PROJECTION = Struct(CORE + "VolumeProjection", "Projection that may be projected "
                           "along with other supported volume types. Exactly one of these "
                           "fields must be set.", {
    "secret": Field(_PROJECTED_SECRET, "secret information about the secret data to "
                    "project"),
    "configMap": Field(_PROJECTED_CONFIG_MAP, "configMap information about the configMap "
                       "data to project"),
    "downwardAPI": Field(_PROJECTED_DOWNWARD_API, "downwardAPI information about the "
                         "downwardAPI data to project"),
    "serviceAccountToken": Field(SERVICE_ACCOUNT_TOKEN_PROJECTION, "serviceAccountToken is "
                                 "information about the serviceAccountToken data to "
                                 "project"),
    "clusterTrustBundle": Field(CLUSTER_TRUST_BUNDLE_PROJECTION, "ClusterTrustBundle allows "
                                "a pod to access the trust bundles."),
})

PROJECTED_VOLUME = Struct(CORE + "ProjectedVolumeSource", "Represents a projected volume "
                          "source", {
    "sources": Field(ListOf(VOLUME_PROJECTION, list_type="atomic"), "sources is the list of "
                     "volume projections. Each entry in this list handles one source."),
    "defaultMode": Field(INT32, _MODE_DOC, default=DEFAULT_MODE),
})

PVC_VOLUME = Struct(CORE + "PersistentVolumeClaimVolumeSource", "references the user's PVC "
                    "in the same namespace.", {
    "claimName": Field(STRING, "claimName is the name of a PersistentVolumeClaim in the same "
                       "namespace as the pod using this volume.", required=True),
    "readOnly": Field(BOOL, "readOnly Will force the ReadOnly setting in VolumeMounts. "
                      "Default false."),
})

NFS_VOLUME = Struct(CORE + "NFSVolumeSource", "Represents an NFS mount that lasts the "
                    "lifetime of a pod.", {
    "server": Field(STRING, "server is the hostname or IP address of the NFS server.",
                    required=True),
    "path": Field(STRING, "path that is exported by the NFS server.", required=True),
    "readOnly": Field(BOOL, "readOnly here will force the NFS export to be mounted with "
                      "read-only permissions. Defaults to false."),
})

CSI_VOLUME = Struct(CORE + "CSIVolumeSource", "Represents a source location of a volume to "
                    "mount, managed by an external CSI driver", {
    "driver": Field(STRING, "driver is the name of the CSI driver that handles this volume.",
                    required=True),
    "readOnly": Field(BOOL, "readOnly specifies a read-only configuration for the volume."),
    "fsType": Field(STRING, "fsType to mount. Ex. \"ext4\", \"xfs\", \"ntfs\"."),
    "volumeAttributes": Field(MapOf(STRING), "volumeAttributes stores driver-specific "
                              "properties that are passed to the CSI driver."),
    "nodePublishSecretRef": Field(LOCAL_OBJECT_REFERENCE, "a reference to the secret object "
                                  "containing sensitive information to pass to the CSI "
                                  "driver."),
})

TYPED_LOCAL_OBJECT_REFERENCE = Struct(CORE + "TypedLocalObjectReference", (
    "TypedLocalObjectReference contains enough information to let you locate the typed "
    "referenced object inside the same namespace."), {
    "apiGroup": Field(STRING, "APIGroup is the group for the resource being referenced."),
    "kind": Field(STRING, "Kind is the type of resource being referenced", required=True),
    "name": Field(STRING, "Name is the name of resource being referenced", required=True),
})

PVC_SPEC = Struct(CORE + "PersistentVolumeClaimSpec", "PersistentVolumeClaimSpec describes "
                  "the common attributes of storage devices and allows a Source for provider-"
                  "specific attributes", {
    "accessModes": Field(ListOf(STRING, list_type="atomic"), "accessModes contains the "
                         "desired access modes the volume should have."),
    "selector": Field(LABEL_SELECTOR, "selector is a label query over volumes to consider "
                      "for binding."),
    "resources": Field(Struct(CORE + "VolumeResourceRequirements", "VolumeResourceRequirements "
                              "describes the storage resource requirements for a volume.", {
        "limits": Field(MapOf(QUANTITY), "Limits describes the maximum amount of compute "
                        "resources allowed."),
        "requests": Field(MapOf(QUANTITY), "Requests describes the minimum amount of compute "
                          "resources required."),
    }), "resources represents the minimum resources the volume should have."),
    "volumeName": Field(STRING, "volumeName is the binding reference to the PersistentVolume "
                        "backing this claim."),
    "storageClassName": Field(STRING, "storageClassName is the name of the StorageClass "
                              "required by the claim."),
    "volumeMode": Field(STRING, "volumeMode defines what type of volume is required by the "
                        "claim: Filesystem or Block."),
    "dataSource": Field(TYPED_LOCAL_OBJECT_REFERENCE, "dataSource field can be used to "
                        "specify an existing VolumeSnapshot or PersistentVolumeClaim."),
    "volumeAttributesClassName": Field(STRING, "the VolumeAttributesClass used by this "
                                       "claim."),
})

EPHEMERAL_VOLUME = Struct(CORE + "EphemeralVolumeSource", "Represents an ephemeral volume "
                          "that is handled by a normal storage driver.", {
    "volumeClaimTemplate": Field(Struct(CORE + "PersistentVolumeClaimTemplate", (
        "PersistentVolumeClaimTemplate is used to produce PersistentVolumeClaim objects as "
        "part of an EphemeralVolumeSource."), {
        "metadata": Field(OBJECT_META, "May contain labels and annotations that will be "
                          "copied into the PVC when creating it."),
        "spec": Field(PVC_SPEC, "The specification for the PersistentVolumeClaim.",
                      required=True),
    }), "Will be used to create a stand-alone PVC to provision the volume."),
})

IMAGE_VOLUME = Struct(CORE + "ImageVolumeSource", "ImageVolumeSource represents an image "
                      "volume resource.", {
    "reference": Field(STRING, "Required: Image or artifact reference to be used."),
    "pullPolicy": Field(STRING, "Policy for pulling OCI objects: Always, Never or "
                        "IfNotPresent."),
})

VOLUME_SOURCES = {
    "emptyDir": Field(EMPTY_DIR, "emptyDir represents a temporary directory that shares a "
                      "pod's lifetime."),
    "hostPath": Field(HOST_PATH, "hostPath represents a pre-existing file or directory on "
                      "the host machine that is directly exposed to the container."),
    "configMap": Field(CONFIG_MAP_VOLUME, "configMap represents a configMap that should "
                       "populate this volume"),
    "secret": Field(SECRET_VOLUME, "secret represents a secret that should populate this "
                    "volume."),
    "downwardAPI": Field(DOWNWARD_API_VOLUME, "downwardAPI represents downward API about the "
                         "pod that should populate this volume"),
    "projected": Field(PROJECTED_VOLUME, "projected items for all in one resources secrets, "
                       "configmaps, and downward API"),
    "persistentVolumeClaim": Field(PVC_VOLUME, "persistentVolumeClaimVolumeSource represents "
                                   "a reference to a PersistentVolumeClaim in the same "
                                   "namespace."),
    "nfs": Field(NFS_VOLUME, "nfs represents an NFS mount on the host that shares a pod's "
                 "lifetime"),
    "csi": Field(CSI_VOLUME, "csi (Container Storage Interface) represents ephemeral storage "
                 "that is handled by certain external CSI drivers."),
    "ephemeral": Field(EPHEMERAL_VOLUME, "ephemeral represents a volume that is handled by a "
                       "cluster storage driver."),
    "image": Field(IMAGE_VOLUME, "image represents an OCI object (a container image or "
                   "artifact) pulled and mounted on the kubelet's host machine."),
}

VOLUME = Struct(CORE + "Volume", "Volume represents a named volume in a pod that may be "
                "accessed by any container in the pod.", {
    "name": Field(STRING, "name of the volume. Must be a DNS_LABEL and unique within the "
                  "pod.", required=True),
    **VOLUME_SOURCES,
})
