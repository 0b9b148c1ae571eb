"""`kfuncfix experiment`: which marker keeps which kfunc callable, measured.

Each kfunc file (the bundled probe of eight shapes, or real files of a tree
compiled through its Kbuild) is compiled once per marker and compiler; pahole
encodes its BTF; the verdict per kfunc comes from that BTF, the ELF symbols
and DWARF, read with the audit's own readers.
"""
