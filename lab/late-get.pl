#!/usr/bin/perl
# An HTTP client for the lab that connects at once and sends its request
# only when told: a connection established before a change and used after
# it. Writes its local port to OUT.port once connected; when GO exists,
# sends the request and writes to OUT what came back within WAIT seconds:
# "data" (an answer), "reset" (a TCP reset), "closed" or "timeout" (nothing);
# "no-go" when GO never came, "write-failed ..." when the request could not go.
# usage: late-get.pl HOST PORT GO WAIT OUT
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my ($host, $port, $go, $wait, $out) = @ARGV;
sub put {
  my ($file, $text) = @_;
  open my $fh, '>', "$file.tmp" or die "$file.tmp: $!";
  print $fh "$text\n";
  close $fh;
  rename "$file.tmp", $file or die "$file: $!";
}
my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp') or do { put($out, 'connect-failed'); exit 0 };
put("$out.port", $sock->sockport);
# A write to a reset connection raises SIGPIPE: report it instead.
$SIG{PIPE} = 'IGNORE';
# Bounded, so no client outlives its test.
for (my $i = 0; $i < 1200 && !-e $go; $i++) { sleep 0.1 }
if (!-e $go) { put($out, 'no-go'); exit 0 }
if (!defined syswrite($sock, "GET / HTTP/1.0\r\nHost: $host\r\n\r\n")) { put($out, "write-failed $!"); exit 0 }
my $result = 'timeout';
if (IO::Select->new($sock)->can_read($wait)) {
  my $n = sysread($sock, my $buf, 4096);
  $result = $n ? 'data' : defined $n ? 'closed' : $!{ECONNRESET} ? 'reset' : "error $!";
}
put($out, $result);
