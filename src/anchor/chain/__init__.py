"""The chain side: connection, registry wrapper, ABI codec, networks' keys, deployments, local node, compiler."""
