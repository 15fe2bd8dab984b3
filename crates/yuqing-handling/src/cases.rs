//! The case workflow service (in progress).
