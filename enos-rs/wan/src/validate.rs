//! Validation: what was measured between hosts, against what the matrix asked.
