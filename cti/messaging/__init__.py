"""Messages to customers outside a call: sign-in codes and survey links by e-mail (:class:`SmtpMailer`, SMTP with
STARTTLS, SSL or plain) and by SMS (:class:`LoggingSmsSender`, the default, which sends nothing and says so in the
log; a real gateway is another class with the same ``send_code``)."""

from cti.messaging._sms import LoggingSmsSender
from cti.messaging._smtp import SmtpMailer, code_mail, survey_mail

__all__ = ["LoggingSmsSender", "SmtpMailer", "code_mail", "survey_mail"]
