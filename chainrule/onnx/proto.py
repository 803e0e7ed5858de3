"""The ONNX protobuf messages, written by hand (no ``onnx`` or ``protobuf`` package).

Protocol buffers' wire format is a sequence of fields, each a *key* (``field number << 3 |
wire type``, a varint) and a value: wire type 0 is a varint (ints, enums; a negative
int64 is its 64-bit two's complement, ten bytes), 2 is length-delimited (a varint length,
then the bytes: strings, bytes, nested messages), 5 is four little-endian bytes (float).
``onnx.proto`` is proto2, so repeated numbers are written unpacked (one key per element),
which every parser accepts.

The field numbers below are those of ``onnx.proto`` (ModelProto, GraphProto, NodeProto,
AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto,
OperatorSetIdProto).  Each ``*_proto`` function returns the encoded message as bytes.
"""
import struct

import numpy as np

__all__ = ["DTYPES", "onnx_dtype", "tensor_proto", "value_info_proto", "attribute_proto",
           "node_proto", "graph_proto", "model_proto"]

# TensorProto.DataType
DTYPES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3,
          np.dtype(np.uint16): 4, np.dtype(np.int16): 5, np.dtype(np.int32): 6,
          np.dtype(np.int64): 7, np.dtype(np.bool_): 9, np.dtype(np.float16): 10,
          np.dtype(np.float64): 11, np.dtype(np.uint32): 12, np.dtype(np.uint64): 13}

# AttributeProto.AttributeType
_FLOAT, _INT, _STRING, _TENSOR, _FLOATS, _INTS, _STRINGS = 1, 2, 3, 4, 6, 7, 8


def onnx_dtype(dtype, what="a value"):
    """The TensorProto.DataType number of a NumPy dtype."""
    try:
        return DTYPES[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"chainrule.onnx.export: {what} has dtype {np.dtype(dtype)}, which "
                        f"has no ONNX tensor type here") from None


# ---------------------------------------------------------------- wire format
def varint(n):
    """``n`` (an int64 or uint64) as a base-128 varint."""
    n &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return varint(field << 3 | wire)


def f_int(field, v):
    return _key(field, 0) + varint(int(v))


def f_bytes(field, b):
    return _key(field, 2) + varint(len(b)) + bytes(b)


def f_str(field, s):
    return f_bytes(field, s.encode("utf-8"))


def f_float(field, v):
    return _key(field, 5) + struct.pack("<f", float(v))


# ---------------------------------------------------------------- messages
def tensor_proto(name, array):
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    a = np.asarray(array)
    dt = onnx_dtype(a.dtype, f"tensor {name!r}")
    out = b"".join(f_int(1, d) for d in a.shape)
    out += f_int(2, dt) + f_str(8, name)
    return out + f_bytes(9, np.ascontiguousarray(a, a.dtype.newbyteorder("<")).tobytes())


def value_info_proto(name, dtype, shape):
    """ValueInfoProto: name (1), type (2) = TypeProto{tensor_type (1) = {elem_type (1),
    shape (2) = TensorShapeProto{dim (1) = Dimension{dim_value (1)}}}}."""
    dims = b"".join(f_bytes(1, f_int(1, d)) for d in shape)
    tensor_type = f_int(1, onnx_dtype(dtype, f"value {name!r}")) + f_bytes(2, dims)
    return f_str(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def attribute_proto(name, value):
    """AttributeProto: name (1), type (20) and one of f (2), i (3), s (4), t (5),
    floats (7), ints (8), strings (9), chosen by the Python type of ``value``."""
    out = f_str(1, name)
    if isinstance(value, (bool, int, np.integer)):
        return out + f_int(20, _INT) + f_int(3, int(value))
    if isinstance(value, (float, np.floating)):
        return out + f_int(20, _FLOAT) + f_float(2, value)
    if isinstance(value, str):
        return out + f_int(20, _STRING) + f_str(4, value)
    if isinstance(value, np.ndarray):
        return out + f_int(20, _TENSOR) + f_bytes(5, tensor_proto(name, value))
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value) and value:
            return out + f_int(20, _STRINGS) + b"".join(f_str(9, v) for v in value)
        if all(isinstance(v, (bool, int, np.integer)) for v in value):
            return out + f_int(20, _INTS) + b"".join(f_int(8, v) for v in value)
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in value):
            return out + f_int(20, _FLOATS) + b"".join(f_float(7, v) for v in value)
    raise TypeError(f"chainrule.onnx.export: attribute {name!r} has a value of type "
                    f"{type(value).__name__} that ONNX attributes cannot hold")


def node_proto(op_type, inputs, outputs, name, attrs):
    """NodeProto: input (1), output (2), name (3), op_type (4), attribute (5)."""
    out = b"".join(f_str(1, i) for i in inputs) + b"".join(f_str(2, o) for o in outputs)
    out += f_str(3, name) + f_str(4, op_type)
    return out + b"".join(f_bytes(5, attribute_proto(k, v)) for k, v in sorted(attrs.items()))


def graph_proto(name, nodes, initializers, inputs, outputs):
    """GraphProto: node (1), name (2), initializer (5), input (11), output (12); each
    argument but ``name`` a list of encoded messages."""
    out = b"".join(f_bytes(1, n) for n in nodes) + f_str(2, name)
    out += b"".join(f_bytes(5, t) for t in initializers)
    out += b"".join(f_bytes(11, v) for v in inputs)
    return out + b"".join(f_bytes(12, v) for v in outputs)


def model_proto(graph, opset, ir_version, producer_name, producer_version, doc_string=""):
    """ModelProto: ir_version (1), producer_name (2), producer_version (3), doc_string (6),
    graph (7), opset_import (8) = OperatorSetIdProto{domain (1), version (2)}."""
    out = f_int(1, ir_version) + f_str(2, producer_name) + f_str(3, producer_version)
    if doc_string:
        out += f_str(6, doc_string)
    return out + f_bytes(7, graph) + f_bytes(8, f_str(1, "") + f_int(2, opset))
