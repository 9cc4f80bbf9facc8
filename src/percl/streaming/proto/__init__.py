"""FreeClimb's AudioStream gRPC contract: ivr.proto and the modules protoc generated from it.

ivr_pb2.py, ivr_pb2.pyi and ivr_pb2_grpc.py are generated and committed; regenerate them with
`make proto`, i.e. from the repository root:

    python -m grpc_tools.protoc -Isrc --python_out=src --pyi_out=src --grpc_python_out=src \\
        src/percl/streaming/proto/ivr.proto
"""
