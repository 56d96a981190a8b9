//! F1 and F2: kill -9 of writers and process applications (being written).
