//! The Kwollect client against a fake Kwollect server: parsing, chunking, auth, retries and
//! errors.

mod errors;
mod fake_kwollect;
mod fetch;
