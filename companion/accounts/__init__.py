"""People and their logins: accounts, passwords and MFA, login sessions, invitations'
accounts, family links and consents (whom a person has let see what), CSRF and the login loader."""
