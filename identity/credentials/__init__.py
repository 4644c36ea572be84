"""Framework-free credentials library: keys and DIDs, VC-JWT, Data Integrity (eddsa-jcs-2022), SD-JWT VC,
Bitstring Status Lists and ordered verification. Nothing here touches the database or the network."""
