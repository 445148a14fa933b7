"""History: the index of past runs (SQLite by default) behind `perfkit history`.

It only indexes what run directories hold; they stay the source of truth."""
