"""Image tools: registry / OCI layout / archive -> layers -> rootfs (umoci + skopeo's job)."""
