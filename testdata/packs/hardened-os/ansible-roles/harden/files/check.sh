#!/bin/sh
grep -q 'PermitRootLogin no' /etc/ssh/sshd_config
