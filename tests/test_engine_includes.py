"""Where `#include <linux/btf.h>` goes, and when it cannot be placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfuncfix.discover import discover
from kfuncfix.engine import load_rule, plan
from kfuncfix.engine.edits import apply_edits
from kfuncfix.engine.includes import CannotPlace, include_edit, includes
from kfuncfix.source.scan import scan
from tests.rewrite_helper import small_tree


def placed(text: str) -> str:
    src = scan("a.c", text.encode())
    return apply_edits(src.data, [include_edit(src, "linux/btf.h", "test")]).decode()


@pytest.mark.parametrize(("before", "after"), [
    ("#include <linux/bpf.h>\n#include <linux/btf_ids.h>\n",
     "#include <linux/bpf.h>\n#include <linux/btf.h>\n#include <linux/btf_ids.h>\n"),
    # Both neighbours from linux/ beat one: not after asm/, not before net/.
    ("#include <asm/a.h>\n#include <linux/a.h>\n#include <linux/c.h>\n#include <net/x.h>\n",
     "#include <asm/a.h>\n#include <linux/a.h>\n#include <linux/btf.h>\n#include <linux/c.h>\n"
     "#include <net/x.h>\n"),
    # Only runs of unconditional includes count.
    ("#ifdef X\n#include <linux/a.h>\n#endif\n#include <linux/k.h>\n",
     "#ifdef X\n#include <linux/a.h>\n#endif\n#include <linux/btf.h>\n#include <linux/k.h>\n"),
    # The gap before the first include is a sorted place too.
    ("#include <linux/z.h>\n#include <linux/y.h>\n\n#include <asm/x.h>\n",
     "#include <linux/btf.h>\n#include <linux/z.h>\n#include <linux/y.h>\n\n#include <asm/x.h>\n"),
    # No sorted place next to a linux/ include: after the last one.
    ("#include <linux/a.h>\n#include <asm/x.h>\n",
     "#include <linux/a.h>\n#include <linux/btf.h>\n#include <asm/x.h>\n"),
    # The last line of the file, with no newline.
    ("#include <linux/a.h>", "#include <linux/a.h>\n#include <linux/btf.h>"),
    ("#include <linux/a.h>\r\n#include <linux/c.h>\r\n",
     "#include <linux/a.h>\r\n#include <linux/btf.h>\r\n#include <linux/c.h>\r\n"),
])
def test_sorted_place(before: str, after: str) -> None:
    assert placed(before) == after


def test_already_included_anywhere() -> None:
    assert includes(scan("a.c", b"#ifdef X\n#include < linux/btf.h >\n#endif\n"), "linux/btf.h")
    assert not includes(scan("a.c", b'#include "linux/btf.h"\n'), "linux/btf.h")


def test_no_include_at_all() -> None:
    with pytest.raises(CannotPlace, match="no #include line"):
        placed("int x;\n")


def test_no_include_is_reported_by_the_plan(tmp_path: Path) -> None:
    tree = small_tree(tmp_path, {
        "kernel/set.c": "#include <linux/btf_ids.h>\nBTF_SET8_START(s)\nBTF_ID_FLAGS(func, f)\n"
                        "BTF_SET8_END(s)\nstatic const struct btf_kfunc_id_set ss = { .set = &s };"
                        "\nint i(void) { return register_btf_kfunc_id_set(0, &ss); }\n",
        "kernel/def.c": "void f(void)\n{\n}\n",
    })
    result = plan(discover(tree), load_rule("bpf_kfunc_tag"))
    assert result.files["kernel/def.c"].new == b"__bpf_kfunc void f(void)\n{\n}\n"
    assert [(s.name, s.file) for s in result.skipped] == [("<linux/btf.h>", "kernel/def.c")]
