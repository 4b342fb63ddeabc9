//! Authentication: placeholder, built by the auth issue.
