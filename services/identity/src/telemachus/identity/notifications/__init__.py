"""The notifier: what the federation's events ask of this institution's own people, told
to them once, in the portal and by e-mail (docs/notifications.md).

It lives in identity because only the home can turn a pseudonymous reference into a
person, an address and a language: nothing personal leaves this service to send a mail."""
