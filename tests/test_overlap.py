"""pipeline.overlap: the background thread keeps the order of chunks and raises their errors."""

import threading

import pytest

from pipeline.overlap import write_behind


def test_write_behind_writes_everything_in_order_and_raises_a_write_error():
    written, threads = [], set()

    def write(i):
        threads.add(threading.get_ident())
        written.append(i)

    write_behind(iter(range(5)), write)
    assert written == [0, 1, 2, 3, 4]
    assert threading.get_ident() not in threads  # written on the background thread

    def failing(i):
        if i == 2:
            raise ValueError("chunk 2")
        written.append(i)

    written.clear()
    with pytest.raises(ValueError, match="chunk 2"):
        write_behind(iter(range(5)), failing)
    assert written[:2] == [0, 1] and 2 not in written
    # an error in the last write is raised too
    with pytest.raises(ValueError, match="chunk 2"):
        write_behind(iter(range(3)), failing)
