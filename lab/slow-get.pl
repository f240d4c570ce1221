#!/usr/bin/perl
# A slow HTTP client for the lab: reads the answer at a fixed rate through a
# small receive window, so its connection stays established (a request in
# flight) for size/rate seconds. curl's --limit-rate does not hold in the
# UML guests. Writes "STATUS BODY_BYTES" to OUT when the answer ended, or
# "timeout BODY_BYTES" when it stalled (after MAX_SECONDS).
# usage: slow-get.pl HOST PORT PATH BYTES_PER_SECOND MAX_SECONDS OUT
use strict;
use warnings;
use Socket qw(SOCK_STREAM SOL_SOCKET SO_RCVBUF getaddrinfo);
use Time::HiRes qw(sleep);

my ($host, $port, $path, $rate, $max_seconds, $out) = @ARGV;
my $chunk = 4096;
my $res = '';
sub finish {
  my ($status) = @_;
  my $body = index($res, "\r\n\r\n") >= 0 ? length($res) - index($res, "\r\n\r\n") - 4 : 0;
  open my $fh, '>', "$out.tmp" or die "$out.tmp: $!";
  print $fh "$status $body\n";
  close $fh;
  rename "$out.tmp", $out or die "$out: $!";
  exit 0;
}
local $SIG{ALRM} = sub { finish('timeout') };
alarm $max_seconds;
# IPv4 or IPv6, as HOST is; an IPv6 one goes in brackets in the Host header.
my ($err, $ai) = getaddrinfo($host, $port, { socktype => SOCK_STREAM });
die "getaddrinfo $host: $err" if $err;
socket(my $sock, $ai->{family}, SOCK_STREAM, 0) or die "socket: $!";
# Before connect, so the advertised window stays small.
setsockopt($sock, SOL_SOCKET, SO_RCVBUF, 16384) or die "setsockopt: $!";
connect($sock, $ai->{addr}) or finish('connect-failed');
my $authority = $host =~ /:/ ? "[$host]" : $host;
syswrite($sock, "GET $path HTTP/1.0\r\nHost: $authority\r\n\r\n") or finish('write-failed');
while (1) {
  my $n = sysread($sock, my $buf, $chunk);
  finish('read-failed') unless defined $n;
  last if $n == 0;
  $res .= $buf;
  sleep $chunk / $rate;
}
my ($status) = $res =~ m{\AHTTP/1\.\d (\d+)};
finish($status // 'none');
