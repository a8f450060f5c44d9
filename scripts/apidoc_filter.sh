#!/bin/sh
# Doxygen input filter for scripts/apidoc: our headers document themselves with plain // comments; this
# shows them to doxygen as doc comments without touching the sources. The comment block a header starts
# with becomes the file's description (\file), a comment line above a declaration its description, and a
# trailing comment after ';' or '{' a member's (///<). Backslashes and '<' in comment text are escaped:
# they are prose ("<dir>/<name>.csv", "\r\n"), not doxygen commands or HTML; '/*' and '*/' get a zero-width
# joiner. (The added \file line shifts a top block's warning line numbers by one.)
awk '
  function esc(s) { gsub(/\\/, "\\\\\\\\", s); gsub(/</, "\\<", s); gsub(/@/, "\\@", s); gsub(/\/\*/, "/\\&zwj;*", s); gsub(/\*\//, "*\\&zwj;/", s); return s }
  NR == 1 { top = 1 }
  top && /^\/\// { if (!started) { print "/// \\file"; started = 1 } sub(/^\/\/ ?/, ""); print "/// " esc($0); next }
  top { top = 0; if (started) print "" }
  /^[[:space:]]*#/ { print; next }
  /^[[:space:]]*\/\/( |$)/ { i = index($0, "//"); print substr($0, 1, i - 1) "///" esc(substr($0, i + 2)); next }
  /[;{][[:space:]]+\/\/ / { i = index($0, " // "); while (substr($0, i - 1, 1) == " ") i--;
                            print substr($0, 1, i - 1) "  ///< " esc(substr($0, index($0, " // ") + 4)); next }
  { print }
' "$1"
