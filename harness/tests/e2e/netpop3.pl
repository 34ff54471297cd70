#!/usr/bin/perl
# netpop3.pl — Perl's Net::POP3 (core Perl) as a POP3 client for e2e/test_real_clients.py: log in, list,
# fetch every message into OUTDIR/N.msg as Net::POP3 delivers it (line ends LF, dot-stuffing undone), print
# "N UID" per message, then QUIT (and with "delete", DELE every message first).
#   netpop3.pl MODE PORT USER PASSWORD OUTDIR [CA] [delete]
#   MODE: user (USER/PASS), apop, stls (STLS, then USER/PASS), ssl (implicit TLS, then USER/PASS)
use strict;
use warnings;
use Net::POP3;

my ($mode, $port, $user, $pass, $out, $ca, $delete) = @ARGV;
die "usage: netpop3.pl MODE PORT USER PASSWORD OUTDIR [CA] [delete]\n" unless defined $out;
# The certificate names localhost (and 127.0.0.1); verify it against the test CA.
my @tls = $ca ? (SSL_ca_file => $ca, SSL_verifycn_name => 'localhost', SSL_verify_mode => 1) : ();
my $pop = Net::POP3->new('127.0.0.1', Port => $port, Timeout => 10, ($mode eq 'ssl' ? (SSL => 1, @tls) : ()))
    or die "connect: $@\n";
if ($mode eq 'stls') {
	$pop->starttls(@tls) or die "STLS: " . $pop->message . "\n";
}
my $n = $mode eq 'apop' ? $pop->apop($user, $pass) : $pop->login($user, $pass);
defined $n or die "login ($mode): " . ($pop->message // '') . "\n";
my $uidl = $pop->uidl or die "UIDL: " . $pop->message . "\n";
my $list = $pop->list or die "LIST: " . $pop->message . "\n";
for my $i (sort { $a <=> $b } keys %$list) {
	open(my $fh, '>:raw', "$out/$i.msg") or die "$out/$i.msg: $!\n";
	$pop->get($i, $fh) or die "RETR $i: " . $pop->message . "\n";
	close($fh) or die "$out/$i.msg: $!\n";
	print "$i $uidl->{$i}\n";
	if (defined $delete && $delete eq 'delete') {
		$pop->delete($i) or die "DELE $i: " . $pop->message . "\n";
	}
}
$pop->quit or die "QUIT: " . $pop->message . "\n";
