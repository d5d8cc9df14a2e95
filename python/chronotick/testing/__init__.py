"""Test helpers that run real servers on loopback: a programmable NTP server
(ntp_server.NTPTestServer) and a chronyd subprocess (chronyd.Chronyd)."""
