# Writes an .npz the way numpy.savez_compressed does (zip of .npy members,
# deflate), without numpy: float64 data, 1-D and 2-D shapes. Used to check
# that mtgr reads archives it did not write. Usage: make_npz.py OUT NAME=SHAPE...
import struct, sys, zipfile

def npy(shape, values):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }" % dims
    pad = (64 - (10 + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + \
        struct.pack("<%dd" % len(values), *values)

if sys.argv[1] == "--convert":
    # Re-encode an float32 archive as float64 + deflate (what savez_compressed
    # of a float64 state_dict gives).
    src, out = sys.argv[2], sys.argv[3]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            hlen = struct.unpack("<H", data[8:10])[0]
            header = data[10:10 + hlen].decode()
            shape = [int(d) for d in header.split("(")[1].split(")")[0].split(",") if d.strip()]
            body = data[10 + hlen:]
            values = struct.unpack("<%df" % (len(body) // 4), body)
            zout.writestr(name, npy(shape, values))
    sys.exit(0)

out = sys.argv[1]
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
    for spec in sys.argv[2:]:
        name, shape = spec.split("=")
        shape = [int(d) for d in shape.split("x")]
        n = 1
        for d in shape:
            n *= d
        z.writestr(name + ".npy", npy(shape, [0.001 * (i % 7) for i in range(n)]))
