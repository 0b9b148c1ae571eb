"""The BTF reader: every kind, both byte orders, split BTF, ELF input, bad input.

Real encoders are the reference where the machine has them: gcc + pahole for
small objects, bpftool for the running kernel's /sys/kernel/btf/vmlinux.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kfuncfix.btf import elf
from kfuncfix.btf.cdecl import func_prototype, type_name
from kfuncfix.btf.errors import BTFError
from kfuncfix.btf.kfuncs import BPF_KFUNC_TAG, open_kfuncs
from kfuncfix.btf.reader import BTF, load_btf, parse_btf, parse_btf_file
from kfuncfix.btf.types import BTFType, Kind
from tests.btf_writer import BTFWriter

FIXTURES = Path(__file__).parent / "btf_fixtures"
VMLINUX = Path("/sys/kernel/btf/vmlinux")


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian packages gcc, dwarves, bpftool, binutils)")


def sample_writer() -> tuple[BTFWriter, dict[str, int]]:
    """One type of every kind, plus the shapes the C renderer must get right."""
    w = BTFWriter()
    ids: dict[str, int] = {}
    ids["int"] = w.int_type("int", 4)
    ids["char"] = w.int_type("char", 1, signed=False, char=True)
    ids["ulong"] = w.int_type("long unsigned int", 8, signed=False)
    ids["u32"] = w.ref(Kind.TYPEDEF, w.int_type("unsigned int", 4, signed=False), "u32")
    ids["const_char"] = w.ref(Kind.CONST, ids["char"])
    ids["str"] = w.ref(Kind.PTR, ids["const_char"])
    ids["char_ptr"] = w.ref(Kind.PTR, ids["char"])
    ids["const_ptr"] = w.ref(Kind.CONST, ids["char_ptr"])
    ids["volatile_int"] = w.ref(Kind.VOLATILE, ids["int"])
    ids["restrict_ptr"] = w.ref(Kind.RESTRICT, ids["char_ptr"])
    ids["arr"] = w.array(ids["u32"], ids["int"], 4)
    ids["arr_ptr"] = w.ref(Kind.PTR, ids["arr"])
    ids["task"] = w.composite(
        Kind.STRUCT, "task", 16, [("pid", ids["int"], 0, 0), ("flags", ids["u32"], 32, 3)]
    )
    ids["anon_union"] = w.composite(Kind.UNION, "", 8, [("a", ids["int"], 0, 0)])
    ids["enum"] = w.enum("state", [("S_NEG", -1), ("S_ONE", 1)])
    ids["enum64"] = w.enum("big", [("B_HIGH", 1 << 40), ("B_LOW", 3)], size=8)
    ids["fwd"] = w.fwd("later", union=True)
    ids["float"] = w.float_type("double", 8)
    ids["tagged_ptr"] = w.ref(Kind.PTR, w.ref(Kind.TYPE_TAG, ids["task"], "rcu"))
    ids["cb_proto"] = w.func_proto(ids["int"], [("", ids["char_ptr"]), ("", ids["int"])])
    ids["cb"] = w.ref(Kind.PTR, ids["cb_proto"])
    ids["proto"] = w.func_proto(
        ids["ulong"],
        [("t", ids["tagged_ptr"]), ("name", ids["str"]), ("cb", ids["cb"])],
        variadic=True,
    )
    ids["func"] = w.func("bpf_thing", ids["proto"])
    ids["tag"] = w.decl_tag(BPF_KFUNC_TAG, ids["func"])
    ids["param_tag"] = w.decl_tag("arg_tag", ids["func"], component_idx=1)
    ids["var"] = w.var("counter", ids["int"], linkage=1)
    ids["sec"] = w.datasec(".data", 4, [(ids["var"], 0, 4)])
    return w, ids


def all_types(btf: BTF) -> list[BTFType]:
    return list(btf.types())


def test_every_kind_decodes() -> None:
    w, ids = sample_writer()
    btf = parse_btf(w.to_bytes())
    assert btf.count == len(ids) + 2  # the two INTs only referenced inline
    assert {t.kind for t in btf.types()} == set(Kind) - {Kind.UNKN}
    task = btf.type(ids["task"])
    assert [(m.name, m.offset, m.size) for m in task.members] == [("pid", 0, 0), ("flags", 32, 3)]
    assert task.kind_flag and task.size == 16
    assert [(e.name, e.value) for e in btf.type(ids["enum"]).enumerators] == [
        ("S_NEG", -1),
        ("S_ONE", 1),
    ]
    assert btf.type(ids["enum64"]).enumerators[0].value == 1 << 40
    assert btf.type(ids["char"]).int_encoding == 2 and btf.type(ids["int"]).int_bits == 32
    arr = btf.type(ids["arr"])
    assert (arr.ref, arr.array_index_type, arr.array_nelems) == (ids["u32"], ids["int"], 4)
    assert btf.type(ids["fwd"]).kind_flag
    assert btf.type(ids["float"]).size == 8
    assert btf.type(ids["var"]).linkage == 1
    assert [(m.name, m.offset, m.size) for m in btf.type(ids["sec"]).members] == [("counter", 0, 4)]
    assert btf.type(ids["param_tag"]).component_idx == 1
    assert btf.type(ids["func"]).linkage == 1
    assert btf.funcs_named("bpf_thing") == [ids["func"]]
    assert btf.tagged(BPF_KFUNC_TAG) == [ids["func"]]
    assert btf.decl_tag_count(BPF_KFUNC_TAG) == 1


def test_big_endian_reads_the_same() -> None:
    w, _ = sample_writer()
    little, big = parse_btf(w.to_bytes("little")), parse_btf(w.to_bytes("big"))
    assert (little.byte_order, big.byte_order) == ("little", "big")
    assert all_types(little) == all_types(big)


@pytest.mark.parametrize(
    "key, expected",
    [
        ("str", "const char *"),
        ("const_ptr", "char *const"),
        ("volatile_int", "volatile int"),
        ("restrict_ptr", "char *restrict"),
        ("arr", "u32 [4]"),
        ("arr_ptr", "u32 (*)[4]"),
        ("cb", "int (*)(char *, int)"),
        ("tagged_ptr", "struct task *"),  # type tags are not part of the C spelling
        ("anon_union", "union {...}"),
        ("fwd", "union later"),
        ("enum64", "enum big"),
    ],
)
def test_type_names(key: str, expected: str) -> None:
    w, ids = sample_writer()
    assert type_name(parse_btf(w.to_bytes()), ids[key]) == expected


def test_func_prototype() -> None:
    w, ids = sample_writer()
    proto = func_prototype(parse_btf(w.to_bytes()), ids["func"])
    assert (proto.name, proto.return_type, proto.variadic) == (
        "bpf_thing",
        "long unsigned int",
        True,
    )
    assert [(p.name, p.type) for p in proto.params] == [
        ("t", "struct task *"),
        ("name", "const char *"),
        ("cb", "int (*)(char *, int)"),
    ]


def test_split_btf_continues_ids_and_strings() -> None:
    w, ids = sample_writer()
    base = parse_btf(w.to_bytes())
    s = BTFWriter(base)
    ptr = s.ref(Kind.PTR, ids["task"])
    func = s.func("mod_kfunc", s.func_proto(ids["int"], [("t", ptr)]))
    s.decl_tag(BPF_KFUNC_TAG, func)
    split = parse_btf(s.to_bytes(), base)
    assert split.start_id == base.end_id and ptr == base.end_id
    assert str(func_prototype(split, func)) == "int mod_kfunc(struct task *t)"
    assert split.funcs_named("bpf_thing") == [ids["func"]]  # found through the base
    assert split.tagged(BPF_KFUNC_TAG) == [func]
    with pytest.raises(BTFError, match="split"):
        parse_btf(s.to_bytes())  # without its base


def test_reference_cycle_is_an_error_not_a_hang() -> None:
    w = BTFWriter()
    w.ref(Kind.PTR, 2)
    w.ref(Kind.CONST, 1)
    with pytest.raises(BTFError, match="cycle"):
        type_name(parse_btf(w.to_bytes()), 1)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b"\x00\x00" + b[2:], "bad magic"),
        (lambda b: b[:2] + b"\x02" + b[3:], "version"),
        (lambda b: b[:8], "truncated header"),
        (lambda b: b[:-10], "past the end"),
        (lambda b: b[:24] + b[24:28] + struct.pack("<I", 31 << 24) + b[32:], "unknown kind"),
    ],
)
def test_malformed_headers(mutate, message: str) -> None:
    w, _ = sample_writer()
    with pytest.raises(BTFError, match=message):
        parse_btf(mutate(w.to_bytes()))


def test_vlen_running_past_the_type_section() -> None:
    w = BTFWriter()
    w.add(Kind.STRUCT, "s", 4, vlen=1000)  # claims 1000 members, has none
    with pytest.raises(BTFError, match="runs past the end of the type section"):
        parse_btf(w.to_bytes())


def _touch_everything(data: bytes) -> None:
    btf = parse_btf_file(data)
    for t in btf.types():
        if t.kind in (Kind.FUNC, Kind.FUNC_PROTO, Kind.PTR, Kind.STRUCT):
            type_name(btf, t.id)


def test_every_truncation_is_a_clean_error() -> None:
    w, _ = sample_writer()
    data = w.to_bytes()
    for size in range(len(data)):
        with pytest.raises(BTFError):
            _touch_everything(data[:size])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_bytes_never_escape_as_other_errors(flips: list[tuple[int, int]]) -> None:
    w, _ = sample_writer()
    data = bytearray(w.to_bytes(random.Random(len(flips)).choice(["little", "big"])))
    for at, value in flips:
        data[at % len(data)] = value
    try:
        _touch_everything(bytes(data))
    except BTFError:
        pass


# -- ELF --------------------------------------------------------------------


def _objcopy_wrap(tmp_path: Path, raw: bytes, target: str) -> bytes:
    """An ELF of the given bfd target holding raw as its .BTF section."""
    src, out = tmp_path / "btf.bin", tmp_path / f"{target}.o"
    src.write_bytes(raw)
    subprocess.run(
        ["objcopy", "-I", "binary", "-O", target, "--rename-section", ".data=.BTF", src.name, out],
        check=True,
        cwd=tmp_path,
    )
    return out.read_bytes()


@pytest.mark.parametrize("target", ["elf64-x86-64", "elf32-i386", "elf64-big", "elf32-big"])
def test_btf_section_of_every_elf_class_and_byte_order(tmp_path: Path, target: str) -> None:
    need("objcopy")
    w, _ = sample_writer()
    order = "big" if target.endswith("big") else "little"
    raw = w.to_bytes(order)
    image = _objcopy_wrap(tmp_path, raw, target)
    assert all_types(parse_btf_file(image)) == all_types(parse_btf(raw))


def test_elf_without_btf_and_truncated_elf(tmp_path: Path) -> None:
    need("objcopy")
    w, _ = sample_writer()
    image = _objcopy_wrap(tmp_path, w.to_bytes(), "elf64-x86-64")
    renamed = image.replace(b".BTF\0", b".XYZ\0")
    with pytest.raises(BTFError, match="no .BTF section"):
        parse_btf_file(renamed)
    for size in range(0, len(image), 7):
        with pytest.raises(BTFError):
            parse_btf_file(image[:size])


def test_compressed_section_is_inflated(tmp_path: Path) -> None:
    need("gcc", "objcopy")
    src = tmp_path / "x.c"
    src.write_text("int answer(int x) { return x * 42; }\n")
    plain, packed = tmp_path / "x.o", tmp_path / "z.o"
    subprocess.run(["gcc", "-g", "-c", src, "-o", plain], check=True)
    subprocess.run(["objcopy", "--compress-debug-sections=zlib", plain, packed], check=True)
    data, zdata = plain.read_bytes(), packed.read_bytes()
    sec, zsec = elf.read_sections(data)[".debug_info"], elf.read_sections(zdata)[".debug_info"]
    assert zsec.flags & elf.SHF_COMPRESSED
    assert elf.section_data(zdata, zsec) == elf.section_data(data, sec)
    broken = bytearray(zdata)
    chdr = 24  # Elf64_Chdr; the zlib stream follows it
    broken[zsec.offset + chdr : zsec.offset + zsec.size] = bytes(zsec.size - chdr)
    with pytest.raises(BTFError, match="does not decompress"):
        elf.section_data(bytes(broken), zsec)


# -- real encoders ------------------------------------------------------------


@pytest.fixture(scope="module")
def pahole_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture kfuncs compiled with gcc -O2 -g and BTF-encoded by pahole -J."""
    need("gcc", "pahole")
    out = tmp_path_factory.mktemp("pahole") / "kfuncs.o"
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-g",
            "-I",
            FIXTURES / "include",
            "-c",
            FIXTURES / "kernel/kfuncs.c",
            "-o",
            out,
        ],
        check=True,
    )
    subprocess.run(["pahole", "-J", out], check=True, capture_output=True)
    return out


def _bpftool_types(path: Path, base: Path | None = None) -> list[dict]:
    cmd = ["bpftool", "btf", "dump", "file", str(path), "-j"]
    if base:
        cmd[1:1] = ["--base-btf", str(base)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["types"]


def _as_bpftool(btf: BTF, t: BTFType) -> dict:
    """Our decoding in bpftool's JSON vocabulary, for the fields both print."""
    d: dict = {"id": t.id, "kind": t.kind.name, "name": t.name or "(anon)"}
    k = t.kind
    if k in (
        Kind.PTR,
        Kind.TYPEDEF,
        Kind.CONST,
        Kind.VOLATILE,
        Kind.RESTRICT,
        Kind.TYPE_TAG,
        Kind.FUNC,
        Kind.VAR,
        Kind.DECL_TAG,
    ):
        d["type_id"] = t.ref
    if k in (Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FLOAT, Kind.DATASEC):
        d["size"] = t.size
    if k in (Kind.STRUCT, Kind.UNION):
        d["members"] = [
            {"name": m.name or "(anon)", "type_id": m.type_id, "bits_offset": m.offset}
            | ({"bitfield_size": m.size} if m.size else {})
            for m in t.members
        ]
    if k == Kind.FUNC_PROTO:
        d["ret_type_id"] = t.ref
        d["params"] = [{"name": p.name or "(anon)", "type_id": p.type_id} for p in t.members]
    if k in (Kind.ENUM, Kind.ENUM64):
        d["values"] = [{"name": e.name, "val": e.value} for e in t.enumerators]
    if k == Kind.ARRAY:
        d |= {"type_id": t.ref, "index_type_id": t.array_index_type, "nr_elems": t.array_nelems}
    if k == Kind.DECL_TAG:
        d["component_idx"] = t.component_idx
    if k == Kind.INT:
        d |= {"bits_offset": t.int_offset, "nr_bits": t.int_bits}
    if k == Kind.DATASEC:
        d["vars"] = [{"type_id": m.type_id, "offset": m.offset, "size": m.size} for m in t.members]
    return d


def _same_as_bpftool(btf: BTF, reference: list[dict]) -> None:
    assert btf.end_id - btf.start_id == len(reference)
    for ref in reference:
        ours = _as_bpftool(btf, btf.type(ref["id"]))
        if ref["kind"] == "ENUM":
            # bpftool prints 32-bit unsigned values sign-extended to 64 bits.
            for side in (ours, ref):
                side["values"] = [v | {"val": v["val"] % (1 << 32)} for v in side["values"]]
        assert ours == {key: ref[key] for key in ours}, ref["id"]


def test_pahole_object_matches_bpftool(pahole_object: Path, tmp_path: Path) -> None:
    need("bpftool", "objcopy")
    _same_as_bpftool(load_btf(pahole_object), _bpftool_types(pahole_object))
    raw = tmp_path / "kfuncs.btf"
    subprocess.run(["objcopy", "--dump-section", f".BTF={raw}", pahole_object], check=True)
    assert all_types(load_btf(raw)) == all_types(load_btf(pahole_object))


def test_pahole_split_btf(pahole_object: Path, tmp_path: Path) -> None:
    need("gcc", "pahole", "bpftool")
    mod = tmp_path / "mod.c"
    mod.write_text(
        "struct kf_task { int pid; long state; long stats[8]; };\n"
        "struct mod_only { struct kf_task *t; unsigned long cookie; };\n"
        "long mod_kfunc(struct mod_only *m, struct kf_task *t) { return m->cookie + t->pid; }\n"
    )
    obj = tmp_path / "mod.o"
    subprocess.run(["gcc", "-O2", "-g", "-c", mod, "-o", obj], check=True)
    subprocess.run(["pahole", "-J", f"--btf_base={pahole_object}", obj], check=True)
    split = load_btf(obj, base=pahole_object)
    _same_as_bpftool(split, _bpftool_types(obj, base=pahole_object))
    (func,) = split.funcs_named("mod_kfunc")
    assert func >= split.start_id
    proto = func_prototype(split, func)
    assert [(p.name, p.type) for p in proto.params] == [
        ("m", "struct mod_only *"),
        ("t", "struct kf_task *"),
    ]


@pytest.fixture(scope="module")
def vmlinux_reference() -> list[dict]:
    if not VMLINUX.exists():
        pytest.skip(f"{VMLINUX} absent: this kernel has no CONFIG_DEBUG_INFO_BTF")
    need("bpftool")
    return _bpftool_types(VMLINUX)


def test_vmlinux_counts_match_bpftool(vmlinux_reference: list[dict]) -> None:
    index = open_kfuncs(VMLINUX)
    funcs = [t for t in vmlinux_reference if t["kind"] == "FUNC"]
    tags = [t for t in vmlinux_reference if t["kind"] == "DECL_TAG" and t["name"] == "bpf_kfunc"]
    assert len(index.btf.func_ids()) == len(funcs)
    assert index.decl_tag_count == len(tags)
    assert set(index.kfuncs) == {vmlinux_reference[t["type_id"] - 1]["name"] for t in tags}


def test_vmlinux_kfunc_prototypes_match_bpftool(vmlinux_reference: list[dict]) -> None:
    btf = load_btf(VMLINUX)
    by_id = {t["id"]: t for t in vmlinux_reference}
    tags = [t for t in vmlinux_reference if t["kind"] == "DECL_TAG" and t["name"] == "bpf_kfunc"]
    if not tags:
        pytest.skip("this vmlinux BTF has no bpf_kfunc decl tags (pahole < 1.26)")
    for tag in random.Random(6).sample(tags, min(40, len(tags))):
        func = by_id[tag["type_id"]]
        proto = by_id[func["type_id"]]
        ours = func_prototype(btf, func["id"])
        ours_proto = btf.type(btf.type(func["id"]).ref)
        assert ours.name == func["name"]
        assert ours_proto.ref == proto["ret_type_id"]
        assert [(p.name or "(anon)", p.type_id) for p in ours_proto.members] == [
            (p["name"], p["type_id"]) for p in proto["params"]
        ]
        assert [p.name or "(anon)" for p in ours.params] == [p["name"] for p in proto["params"]]
        # Each parameter's spelling starts with the name bpftool gives the type
        # after stripping pointers and qualifiers.
        for param, ref in zip(ours.params, proto["params"], strict=True):
            target = ref["type_id"]
            while target and by_id[target]["kind"] in ("PTR", "CONST", "VOLATILE", "TYPE_TAG"):
                target = by_id[target]["type_id"]
            if target and by_id[target]["kind"] in ("INT", "TYPEDEF", "STRUCT", "UNION", "ENUM"):
                assert by_id[target]["name"] in param.type


def test_vmlinux_every_type_matches_bpftool(vmlinux_reference: list[dict]) -> None:
    _same_as_bpftool(load_btf(VMLINUX), vmlinux_reference)
