"""Node attributes as NumPy columns, so that a predicate over every node is one array op.

Three stores, one per kind of attribute, each with a row per node slot:

- `LabelColumns`: per label key, an int32 column of value codes (-1 = the node has no
  such label), plus the code book. `key=value` becomes `column == code`, `In` an
  `isin`, `Exists` `column >= 0`; `Gt`/`Lt` look the codes up in a numeric view of
  the code book (NaN for values that are not integers).
- `TaintColumns`: every distinct taint (key, value, effect) gets an id; a matrix
  holds, per taint and node, the taint's position in the node's list plus one (0 =
  absent), so "has an untolerated taint" is `any(matrix[untolerated] > 0)` and "the
  first untolerated taint", which Kubernetes names in its message, is an argmin.
- `PortColumns`: every distinct (hostIP, protocol, port) in use gets an id; a matrix
  counts, per id and node, the pods holding it.

The node table (`nodetable.py`) owns one of each and grows them together.
"""

from __future__ import annotations

import numpy as np

ANY_IP = "0.0.0.0"


def _grow_rows(matrix: np.ndarray, rows: int) -> np.ndarray:
    grown = np.zeros((rows, matrix.shape[1]), dtype=matrix.dtype)
    grown[: matrix.shape[0]] = matrix
    return grown


def _grow_cols(matrix: np.ndarray, cols: int, fill=0) -> np.ndarray:
    grown = np.full((matrix.shape[0], cols), fill, dtype=matrix.dtype)
    grown[:, : matrix.shape[1]] = matrix
    return grown


class LabelColumns:
    """Label values per key, coded as int32 columns."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.columns: dict[str, np.ndarray] = {}
        self._codes: dict[str, dict[str, int]] = {}
        self._values: dict[str, list[str]] = {}
        self._numeric: dict[str, np.ndarray] = {}
        self._row_keys: dict[int, frozenset[str]] = {}

    def grow(self, capacity: int) -> None:
        for key, column in self.columns.items():
            grown = np.full(capacity, -1, dtype=np.int32)
            grown[: self.capacity] = column
            self.columns[key] = grown
        self.capacity = capacity

    def set(self, row: int, labels: dict[str, str]) -> None:
        for key in self._row_keys.get(row, frozenset()) - labels.keys():
            self.columns[key][row] = -1
        for key, value in labels.items():
            self.columns.setdefault(key, np.full(self.capacity, -1, dtype=np.int32))
            self.columns[key][row] = self._code_for(key, str(value))
        self._row_keys[row] = frozenset(labels)

    def clear(self, row: int) -> None:
        self.set(row, {})
        self._row_keys.pop(row, None)

    def row_equals(self, row: int, labels: dict[str, str]) -> bool:
        if self._row_keys.get(row, frozenset()) != labels.keys():
            return False
        return all(self._codes[key].get(str(value)) == self.columns[key][row]
                   for key, value in labels.items())

    def _code_for(self, key: str, value: str) -> int:
        codes = self._codes.setdefault(key, {})
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(codes)
            self._values.setdefault(key, []).append(value)
            self._numeric.pop(key, None)
        return code

    def column(self, key: str) -> np.ndarray | None:
        return self.columns.get(key)

    def codes(self, key: str, values) -> list[int]:
        """Codes of the given values that some node has (unknown values match nothing)."""
        known = self._codes.get(key, {})
        return [known[v] for v in values if v in known]

    def value(self, key: str, code: int) -> str:
        return self._values[key][code]

    def numeric(self, key: str) -> np.ndarray:
        """Each code's value as a number, NaN if not an integer; the last entry (index -1,
        which is what an absent label's code selects) is NaN too."""
        table = self._numeric.get(key)
        if table is None:
            numbers = []
            for value in self._values.get(key, ()):
                try:
                    numbers.append(float(int(value, 10)))
                except ValueError:
                    numbers.append(np.nan)
            table = self._numeric[key] = np.array(numbers + [np.nan], dtype=np.float64)
        return table


class TaintColumns:
    """Taint positions per node: matrix[taint id, row] = position in the node's list + 1."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.ids: dict[tuple[str, str, str], int] = {}
        self.taints: list[tuple[str, str, str]] = []
        self.matrix = np.zeros((8, capacity), dtype=np.int16)
        self._row_ids: dict[int, list[int]] = {}

    def grow(self, capacity: int) -> None:
        self.matrix = _grow_cols(self.matrix, capacity)
        self.capacity = capacity

    def set(self, row: int, taints: list[tuple[str, str, str]]) -> None:
        for taint_id in self._row_ids.get(row, ()):
            self.matrix[taint_id, row] = 0
        ids = []
        for position, taint in enumerate(taints, start=1):
            taint_id = self.ids.get(taint)
            if taint_id is None:
                taint_id = self.ids[taint] = len(self.taints)
                self.taints.append(taint)
                if taint_id >= self.matrix.shape[0]:
                    self.matrix = _grow_rows(self.matrix, 2 * self.matrix.shape[0])
            if self.matrix[taint_id, row] == 0:
                self.matrix[taint_id, row] = position
            ids.append(taint_id)
        self._row_ids[row] = ids

    def clear(self, row: int) -> None:
        self.set(row, [])
        self._row_ids.pop(row, None)

    def of_row(self, row: int) -> list[tuple[str, str, str]]:
        return [self.taints[i] for i in self._row_ids.get(row, ())]

    def any_of(self, taint_ids: list[int], size: int) -> np.ndarray:
        """Rows [0, size) that carry at least one of `taint_ids`."""
        if not taint_ids:
            return np.zeros(size, dtype=bool)
        return (self.matrix[taint_ids, :size] > 0).any(axis=0)

    def first_of(self, taint_ids: list[int], rows: np.ndarray) -> np.ndarray:
        """For each row (which must carry one of `taint_ids`), the id of the earliest one
        in the node's own taint order."""
        positions = self.matrix[np.ix_(taint_ids, rows)].astype(np.int32)
        positions[positions == 0] = np.iinfo(np.int32).max
        return np.asarray(taint_ids)[positions.argmin(axis=0)]


class PortColumns:
    """Host ports in use per node: matrix[port id, row] = pods holding that port."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.ids: dict[tuple[str, str, int], int] = {}
        self.matrix = np.zeros((4, capacity), dtype=np.int32)

    def grow(self, capacity: int) -> None:
        self.matrix = _grow_cols(self.matrix, capacity)
        self.capacity = capacity

    def add(self, row: int, ports, delta: int) -> None:
        for port in ports:
            port_id = self.ids.get(port)
            if port_id is None:
                port_id = self.ids[port] = len(self.ids)
                if port_id >= self.matrix.shape[0]:
                    self.matrix = _grow_rows(self.matrix, 2 * self.matrix.shape[0])
            self.matrix[port_id, row] += delta

    def conflicting(self, wanted) -> list[int]:
        """Ids of ports in use that collide with any wanted (hostIP, protocol, port):
        same protocol and port, and the same address or either side on 0.0.0.0."""
        ids = []
        for ip, protocol, number in wanted:
            for (used_ip, used_protocol, used_number), port_id in self.ids.items():
                if used_number == number and used_protocol == protocol and (
                        ip == used_ip or ANY_IP in (ip, used_ip)):
                    ids.append(port_id)
        return ids

    def in_use(self, port_ids: list[int], size: int) -> np.ndarray:
        if not port_ids:
            return np.zeros(size, dtype=bool)
        return (self.matrix[port_ids, :size] > 0).any(axis=0)


class OwnerColumns:
    """Pods per node for each controller (ReplicaSet, Job, ...), for spreading replicas.

    Kept sparse (owner -> {row: pods}); the dense column of an owner being scheduled
    is built once and then kept current, for the most recently used owners only.
    """

    DENSE_CACHE = 64

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.sparse: dict[str, dict[int, int]] = {}
        self._dense: dict[str, np.ndarray] = {}

    def grow(self, capacity: int) -> None:
        self.capacity = capacity
        self._dense.clear()

    def add(self, owner: str, row: int, delta: int) -> None:
        rows = self.sparse.setdefault(owner, {})
        count = rows.get(row, 0) + delta
        if count:
            rows[row] = count
        else:
            rows.pop(row, None)
            if not rows:
                del self.sparse[owner]
        dense = self._dense.get(owner)
        if dense is not None:
            dense[row] += delta

    def dense(self, owner: str) -> np.ndarray:
        """Pods of `owner` per row, over the full capacity."""
        column = self._dense.pop(owner, None)
        if column is None:
            column = np.zeros(self.capacity)
            rows = self.sparse.get(owner)
            if rows:
                column[np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))] = list(
                    rows.values())
            if len(self._dense) >= self.DENSE_CACHE:
                del self._dense[next(iter(self._dense))]
        self._dense[owner] = column      # re-inserted: most recently used last
        return column
