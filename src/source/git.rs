//! Git history source (gix): enumerate blobs reachable from refs, index and ranges.
