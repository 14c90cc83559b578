"""Delivery-status notifications as real mail servers write them (RFC 3464), addressed to a
message's VERP address. Line ends are CRLF, as on the wire."""

from __future__ import annotations


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def postfix_user_unknown(verp: str, recipient: str, message_id: str) -> bytes:
    """Postfix's bounce(8) after the receiving server refused the recipient: 5.1.1."""
    return _crlf(f"""\
Return-Path: <>
Received: by mx1.secop.gov.co (Postfix) id 4Xy2Kq0nZTz9tB; Mon, 30 Nov 2026 07:41:12 -0500 (-05)
Date: Mon, 30 Nov 2026 07:41:12 -0500 (-05)
From: MAILER-DAEMON@relay.secop.gov.co (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Xy2Kq0nZTz9tB.1764506472/relay.secop.gov.co"
Content-Transfer-Encoding: 8bit
Message-Id: <4Xy2Kq0nZTz9tB@relay.secop.gov.co>

This is a MIME-encapsulated message.

--4Xy2Kq0nZTz9tB.1764506472/relay.secop.gov.co
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host relay.secop.gov.co.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{recipient}>: host mx.example.com[198.51.100.7] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--4Xy2Kq0nZTz9tB.1764506472/relay.secop.gov.co
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.secop.gov.co
X-Postfix-Queue-ID: 4Xy2Kq0nZTz9tB
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Mon, 30 Nov 2026 07:41:11 -0500 (-05)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--4Xy2Kq0nZTz9tB.1764506472/relay.secop.gov.co
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <{verp}>
From: SECOP II <registro@secop.gov.co>
To: {recipient}
Subject: =?utf-8?q?Su_contrase=C3=B1a_de_SECOP_II_cambi=C3=B3?=
Message-ID: {message_id}

--4Xy2Kq0nZTz9tB.1764506472/relay.secop.gov.co--
""")


def exchange_access_denied(verp: str, recipient: str, message_id: str) -> bytes:
    """Exchange Online's non-delivery report for a recipient that refuses outside mail: 5.7.1."""
    return _crlf(f"""\
From: postmaster@contoso.onmicrosoft.com
To: {verp}
Date: Mon, 30 Nov 2026 12:44:03 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="5d2f0a1e-6c3b-4b8e-9a41-2f0c7d3e8b11"
Content-Language: en-US
Message-ID: <b6c5a8f0-1d2e-4f3a-8b9c-0d1e2f3a4b5c@CO1PR01MB1234.prod.exchangelabs.com>
In-Reply-To: {message_id}
References: {message_id}
Subject: Undeliverable: =?utf-8?q?Recuperaci=C3=B3n_de_contrase=C3=B1a?=
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
MIME-Version: 1.0

--5d2f0a1e-6c3b-4b8e-9a41-2f0c7d3e8b11
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="2a7e9c41-0b5d-4f6e-8a3c-7d1e0f2b9c84"

--2a7e9c41-0b5d-4f6e-8a3c-7d1e0f2b9c84
Content-Type: text/plain; charset="us-ascii"

Your message to {recipient} couldn't be delivered.
{recipient.split("@")[0]} only accepts messages from people in their organization or on
their allowed senders list, and you're not on the list.

Remote Server returned '550 5.7.1 RESOLVER.RST.AuthRequired; authentication required'

--2a7e9c41-0b5d-4f6e-8a3c-7d1e0f2b9c84--

--5d2f0a1e-6c3b-4b8e-9a41-2f0c7d3e8b11
Content-Type: message/delivery-status

Reporting-MTA: dns;CO1PR01MB1234.prod.exchangelabs.com
Received-From-MTA: dns;relay.secop.gov.co
Arrival-Date: Mon, 30 Nov 2026 12:44:02 +0000

Final-Recipient: rfc822;{recipient}
Action: failed
Status: 5.7.1
Diagnostic-Code: smtp;550 5.7.1 RESOLVER.RST.AuthRequired; authentication
 required [Stage: CreateMessage]

--5d2f0a1e-6c3b-4b8e-9a41-2f0c7d3e8b11
Content-Type: message/rfc822

From: SECOP II <registro@secop.gov.co>
To: {recipient}
Subject: =?utf-8?q?Recuperaci=C3=B3n_de_contrase=C3=B1a?=
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

(body omitted)

--5d2f0a1e-6c3b-4b8e-9a41-2f0c7d3e8b11--
""")


def postfix_mailbox_full_delayed(verp: str, recipient: str, message_id: str) -> bytes:
    """Postfix's delay warning: the mailbox is full (4.2.2), still being retried."""
    return _crlf(f"""\
Date: Mon, 30 Nov 2026 11:41:12 -0500 (-05)
From: MAILER-DAEMON@relay.secop.gov.co (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Xy3Abc.1764520872/relay.secop.gov.co"
Message-Id: <4Xy3Abc@relay.secop.gov.co>

--4Xy3Abc.1764520872/relay.secop.gov.co
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay.secop.gov.co.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

<{recipient}>: host mx.example.com[198.51.100.7] said: 452 4.2.2
    Mailbox full (in reply to RCPT TO command)

--4Xy3Abc.1764520872/relay.secop.gov.co
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.secop.gov.co
X-Postfix-Queue-ID: 4Xy3Abc
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Mon, 30 Nov 2026 07:41:11 -0500 (-05)

Final-Recipient: rfc822; {recipient}
Action: delayed
Status: 4.2.2
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full
Will-Retry-Until: Mon, 5 Dec 2026 07:41:11 -0500 (-05)

--4Xy3Abc.1764520872/relay.secop.gov.co
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: SECOP II <registro@secop.gov.co>
To: {recipient}
Message-ID: {message_id}

--4Xy3Abc.1764520872/relay.secop.gov.co--
""")


def out_of_office(verp: str, recipient: str, message_id: str) -> bytes:
    """Not a report: an automatic reply that reached the bounce address anyway."""
    return _crlf(f"""\
From: {recipient}
To: {verp}
Subject: Respuesta automática: Recuperación de contraseña
Date: Mon, 30 Nov 2026 12:50:00 -0500
In-Reply-To: {message_id}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Estoy fuera de la oficina hasta el lunes. Status: 5.1.1 Action: failed
""")
