# collector-json.awk: the discovery collector's JSON writer (busybox awk, or any POSIX awk).
#
# The collector's /init describes the report as lines of "KIND<TAB>KEY<TAB>ARG"; this program
# turns them into one line of JSON. Everything that comes from the machine (DMI strings, disk
# models and serials, interface names) is hostile input: it is escaped here, never pasted.
#
#   obj   KEY          open an object ("{"); KEY is empty at the top level and inside arrays
#   arr   KEY          open an array ("[")
#   end                close the innermost object or array
#   str   KEY TEXT     a string: the rest of the line after the second tab, blanks trimmed
#   file  KEY PATH     a string read from the file PATH (all its lines, joined by "\n", blanks
#                      trimmed); "" when the file cannot be read (schema 1 has no null strings)
#   lfile KEY PATH     as file, in lower case (A-Z only: a UUID)
#   num   KEY VALUE    an integer; null unless VALUE is digits with an optional leading "-"
#   bool  KEY VALUE    1/true -> true, 0/false -> false, anything else -> null
#   null  KEY          null
#
# Strings: backslash and quote are escaped, control characters (below 0x20, and 0x7f) become
# \u00XX; valid UTF-8 passes through; any other byte from 0x80 up becomes \u00XX (read as
# Latin-1), so the output is always valid UTF-8 JSON and no byte is silently dropped.

BEGIN {
    FS = "\t"
    for (i = 1; i < 256; i++) ORD[sprintf("%c", i)] = i
    depth = 0
    first[0] = 1
    out = ""
}

# A JSON string literal for s.
function quote(s,    n, i, c, o, o2, r, need, lo, hi, k, ok) {
    r = ""
    n = length(s)
    i = 1
    while (i <= n) {
        c = substr(s, i, 1)
        o = ORD[c]
        if (c == "\\") { r = r "\\\\"; i++; continue }
        if (c == "\"") { r = r "\\\""; i++; continue }
        if (o < 32 || o == 127) { r = r sprintf("\\u%04x", o); i++; continue }
        if (o < 128) { r = r c; i++; continue }
        # A UTF-8 lead byte and the range its first continuation byte must be in.
        need = 0; lo = 128; hi = 191
        if (o >= 194 && o <= 223) need = 1
        else if (o == 224) { need = 2; lo = 160 }
        else if (o >= 225 && o <= 236) need = 2
        else if (o == 237) { need = 2; hi = 159 }
        else if (o >= 238 && o <= 239) need = 2
        else if (o == 240) { need = 3; lo = 144 }
        else if (o >= 241 && o <= 243) need = 3
        else if (o == 244) { need = 3; hi = 143 }
        ok = need > 0 && i + need <= n
        for (k = 1; ok && k <= need; k++) {
            o2 = ORD[substr(s, i + k, 1)]
            if (k == 1) ok = o2 >= lo && o2 <= hi
            else ok = o2 >= 128 && o2 <= 191
        }
        if (ok) { r = r substr(s, i, need + 1); i += need + 1; continue }
        r = r sprintf("\\u%04x", o)
        i++
    }
    return "\"" r "\""
}

function trim(s) {
    sub(/^[ \t\r\n\v\f]+/, "", s)
    sub(/[ \t\r\n\v\f]+$/, "", s)
    return s
}

# The text of a file, lines joined by "\n" ("" when it cannot be read).
function slurp(path,    line, text, n) {
    text = ""
    n = 0
    while ((getline line < path) > 0) {
        text = (n++ ? text "\n" : "") line
    }
    close(path)
    return text
}

# A JSON integer for text that is one ("-" and digits; leading zeros dropped), else null.
function number(text,    sign) {
    if (text !~ /^-?[0-9]+$/) return "null"
    sign = ""
    if (substr(text, 1, 1) == "-") { sign = "-"; text = substr(text, 2) }
    sub(/^0+/, "", text)
    if (text == "") return "0"
    return sign text
}

# Append a member (with its key inside objects) and the comma before it when needed.
function emit(key, value) {
    if (!first[depth]) out = out ","
    first[depth] = 0
    if (kind[depth] == "obj") out = out quote(key) ":"
    out = out value
}

function open_(key, k, ch) {
    emit(key, ch)
    depth++
    first[depth] = 1
    kind[depth] = k
}

{
    what = $1
    key = $2
    # The argument is everything after the second tab: a value may itself hold tabs.
    arg = $0
    if (index(arg, "\t")) { arg = substr(arg, index(arg, "\t") + 1) } else { arg = "" }
    if (index(arg, "\t")) { arg = substr(arg, index(arg, "\t") + 1) } else { arg = "" }

    if (what == "obj") open_(key, "obj", "{")
    else if (what == "arr") open_(key, "arr", "[")
    else if (what == "end") {
        if (depth == 0) { print "collector-json: unbalanced end at line " NR > "/dev/stderr"; bad = 1; exit 1 }
        out = out (kind[depth] == "obj" ? "}" : "]")
        depth--
    }
    else if (what == "str") emit(key, quote(trim(arg)))
    else if (what == "file" || what == "lfile") {
        text = trim(slurp(arg))
        if (what == "lfile") text = tolower(text)
        emit(key, quote(text))
    }
    else if (what == "num") emit(key, number(arg))
    else if (what == "bool") emit(key, (arg == "1" || arg == "true") ? "true" : (arg == "0" || arg == "false") ? "false" : "null")
    else if (what == "null") emit(key, "null")
    else if (what != "") { print "collector-json: unknown kind " quote(what) " at line " NR > "/dev/stderr"; bad = 1; exit 1 }
}

END {
    if (bad) exit 1
    if (depth != 0) { print "collector-json: " depth " unclosed object(s) or array(s)" > "/dev/stderr"; exit 1 }
    print out
}
