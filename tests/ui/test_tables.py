"""components.tables: the server-side DataTable setup and the sort/paging helpers."""

from __future__ import annotations

from components.tables import create_server_table, page_count, sort_key


def test_table_pages_and_sorts_on_the_server() -> None:
    table = create_server_table("t", [{"id": "a", "name": "A"}], page_size=10, numeric=("a",))
    assert table.page_action == "custom" and table.sort_action == "custom"
    assert table.page_size == 10 and table.data == []
    assert table.style_cell_conditional == [{"if": {"column_id": "a"}, "textAlign": "right"}]
    assert any(
        s["if"].get("filter_query") == '{status} = "failed"' for s in table.style_data_conditional
    )


def test_sort_key_and_page_count() -> None:
    assert sort_key(None, "-created_at") == "-created_at"
    assert sort_key([{"column_id": "score", "direction": "desc"}], "x") == "-score"
    assert sort_key([{"column_id": "score", "direction": "asc"}], "x") == "score"
    assert page_count(0, 25) == 1
    assert page_count(25, 25) == 1
    assert page_count(26, 25) == 2
