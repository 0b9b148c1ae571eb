"""Discovery, pass by pass: from a tree's bytes to its kfuncs and their definitions.

`kfuncfix.discover.discover()` runs the passes in this order, each over the
files the previous ones chose, each file scanned once (`reader`):

1. `sets`: BTF id sets and lists in the files a byte search found, with their
   entries; entries written through macros are expanded by
2. `expansion`: the macros visible at a point of a file (its own `#define`s,
   then headers), loaded on demand, for all missing names at once;
3. `registrations`: how each set is registered (kfunc, fmodret, dtor), which
   makes its entries kfuncs;
4. `resolution`: each kfunc name to its definitions, in its set's file first,
   then with one search of the tree for all remaining names;
5. `facts`: what each definition's header says (its words, the macro that
   wraps it, words its earlier declarations add) and its prototype;
6. `risks`: what threatens a definition the compiler may inline or drop.

Discovery records facts; what counts as "tagged" comes from the caller (the
tag words and wrapper macros of the rules in use).
"""
