"""Messages to customers outside a call: sign-in codes, survey links and agents' answers by e-mail
(:class:`SmtpMailer`, SMTP with STARTTLS, SSL or plain) and by SMS (:class:`LoggingSmsSender`, the default, which
sends nothing and says so in the log; a real gateway is another class with the same ``send_code``); events to
partners' webhooks (:class:`HttpWebhookSender`, which refuses private addresses unless allowed); and customers read
from another CRM over HTTP (:class:`HttpCrmConnector`, the reference connector)."""

from cti.messaging._crm_http import ExternalCrmUnavailable, HttpCrmConnector
from cti.messaging._sms import LoggingSmsSender
from cti.messaging._smtp import SmtpMailer, answer_mail, code_mail, survey_mail
from cti.messaging._webhooks import HttpWebhookSender, address_refusal

__all__ = ["ExternalCrmUnavailable", "HttpCrmConnector", "HttpWebhookSender", "LoggingSmsSender", "SmtpMailer",
           "address_refusal", "answer_mail", "code_mail", "survey_mail"]
