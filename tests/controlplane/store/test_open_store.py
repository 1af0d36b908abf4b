"""open_store(url): the URLs users type, and clear errors for the ones they mistype."""

from __future__ import annotations

import pytest

from supernetes.controlplane.store import StoreError, open_store
from supernetes.controlplane.store.sqlite import SqliteStore


def test_sqlite_url_opens_the_file_it_names_with_its_options(tmp_path):
    store = open_store(f"sqlite://{tmp_path}/sub/dir/state.db?retention=600&max_revisions=7")
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == f"{tmp_path}/sub/dir/state.db"
        assert (tmp_path / "sub/dir/state.db").exists()
        assert store._compactor.retention == 600.0
        assert store._compactor.max_revisions == 7
    finally:
        store.close()


@pytest.mark.parametrize("url, message", [
    ("state.db", "expected sqlite:///path or etcd://host:port"),
    ("sqlite://", "expected sqlite:///path or etcd://host:port"),
    ("mysql://db:3306", "scheme must be sqlite or etcd"),
    ("sqlite:///x.db?retention=soon", "retention='soon' is not a number"),
    ("sqlite:///x.db?colour=blue", "unknown option 'colour'"),
    ("sqlite:///x.db?timeout=3", "timeout is an etcd option"),
    ("etcd://127.0.0.1", "'127.0.0.1' is not host:port"),
    ("etcd://127.0.0.1:2379,:2380", "':2380' is not host:port"),
    ("etcd://127.0.0.1:notaport", "is not host:port"),
])
def test_bad_urls_get_one_clear_error(url, message):
    with pytest.raises(StoreError, match=message.replace("?", r"\?")):
        open_store(url)
