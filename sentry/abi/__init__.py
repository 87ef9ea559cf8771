"""Linux x86-64 ABI constants and structure layouts (gVisor ``pkg/abi/linux``)."""
