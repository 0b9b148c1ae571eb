#!/bin/sh
# A netdev-style patchwork check (NIPA's contract: one-line summary, exit 0
# when clean, 250 for warnings only, 1 for a failure) running kfuncfix on one
# patch, in the kernel tree the checks run in (the patch applied or not).
#
#   scripts/ci/patchwork-check.sh PATCH_FILE [TREE]     (PATCH_FILE - : stdin)
#
# The findings, one per line, go to stdout after the summary line.
set -u
patch=${1:?usage: patchwork-check.sh PATCH_FILE [TREE]}
tree=${2:-.}
out=$(${KFUNCFIX:-kfuncfix} -q check --patch "$patch" "$tree" 2>&1)
rc=$?
if [ "$rc" -ge 2 ]; then
    echo "kfuncfix: could not check the patch: $(printf '%s\n' "$out" | head -n1)"
    exit 1
fi
# A finding is `path:line: SEVERITY: rule: message`; the path may hold anything
# (`ERROR:` too), the rule and message do not: the severity is the last
# `:LINE: SEVERITY: RULE: ` of the line (the greedy `.*` skips to it).
severities=$(printf '%s\n' "$out" |
    sed -n -E 's/^.*:[0-9]+: (ERROR|WARNING): [A-Za-z0-9_]+: .*$/\1/p')
errors=$(printf '%s\n' "$severities" | grep -cx 'ERROR')
warnings=$(printf '%s\n' "$severities" | grep -cx 'WARNING')
if [ "$errors" -gt 0 ]; then
    echo "kfuncfix: $errors error(s), $warnings warning(s)"
    printf '%s\n' "$out"
    exit 1
fi
if [ "$warnings" -gt 0 ]; then
    echo "kfuncfix: $warnings warning(s)"
    printf '%s\n' "$out"
    exit 250
fi
echo "kfuncfix: no kfunc findings"
exit 0
