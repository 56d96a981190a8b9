//! F3: commits whose acknowledgement is lost (being written).
