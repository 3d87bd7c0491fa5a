"""Terms and renewals."""
