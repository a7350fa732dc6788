#!/bin/bash
# Orders each `a<TAB>b` pair on stdin with dpkg itself; "!" when dpkg rejects a version.
while IFS=$'\t' read -r a b; do
  if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then op='<'
  elif [ $? -ne 1 ]; then op='!'
  elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then op='='
  else op='>'
  fi
  printf '%s\t%s\t%s\n' "$a" "$op" "$b"
done
