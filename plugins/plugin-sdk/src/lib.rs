//! Guest SDK for review plugins.
