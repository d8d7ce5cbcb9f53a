"""Writes the PTX of every gpu.binary in MLIR text (stdin) to <prefix>N.ptx.

The binary's assembly is one MLIR string with escaped bytes (\\0A); ptxas
wants the text. Prints how many it wrote."""
import re
import sys

text = sys.stdin.read()
count = 0
for count, match in enumerate(re.finditer(r'assembly = "(.*?)">', text), start=1):
    ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), match.group(1))
    with open("%s%d.ptx" % (sys.argv[1], count - 1), "w") as out:
        out.write(ptx)
print("wrote %d PTX files" % count)
