#!/usr/bin/perl
# Bounded HTTP load loop, run on a lab client host against a VIP: one new TCP
# connection per request (so each goes through IPVS scheduling), until STOP
# exists, MAX requests were sent or MAX_SECONDS passed. Writes to OUT:
#   sent N / gap SECONDS (longest time without an answer) / server NAME COUNT (first word of the page) / failed T REASON
# usage: load.pl HOST PORT OUT STOP MAX MAX_SECONDS
use strict;
use warnings;
use IO::Socket::IP;
use Time::HiRes qw(sleep time);

my ($host, $port, $out, $stop, $max, $max_seconds) = @ARGV;
# An IPv6 VIP goes in brackets in the Host header.
my $authority = $host =~ /:/ ? "[$host]" : $host;
my $t0 = time;
my $sent = 0;
my (%by_server, @failed);
my ($last_answer, $gap) = ($t0, 0);
while (!-e $stop && $sent < $max && time - $t0 < $max_seconds) {
  $sent++;
  my $t = sprintf '%.2f', time - $t0;
  my $res = '';
  my $sock = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5);
  if (!$sock) {
    push @failed, "$t connect: $!";
    next;
  }
  my $ok = eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 5;
    print $sock "GET / HTTP/1.0\r\nHost: $authority\r\n\r\n";
    local $/;
    $res = <$sock> // '';
    alarm 0;
    1;
  };
  close $sock;
  if (!$ok) {
    push @failed, "$t read: $@";
  } elsif ($res =~ m{\AHTTP/1\.\d 200 .*?\r\n\r\n(\S+)}s) {
    $by_server{$1}++;
    my $now = time;
    $gap = $now - $last_answer if $now - $last_answer > $gap;
    $last_answer = $now;
  } else {
    (my $head = substr($res, 0, 60)) =~ s/\s+/ /g;
    push @failed, "$t bad response: $head";
  }
  # Paced so the loop does not starve the single-CPU guest it shares with the director.
  sleep 0.02;
}
open my $fh, '>', "$out.tmp" or die "$out.tmp: $!";
$gap = time - $last_answer if time - $last_answer > $gap;
print $fh "sent $sent\n";
printf $fh "gap %.2f\n", $gap;
print $fh "server $_ $by_server{$_}\n" for sort keys %by_server;
chomp @failed;
print $fh "failed $_\n" for @failed;
close $fh;
rename "$out.tmp", $out or die "$out: $!";
